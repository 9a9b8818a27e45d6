"""The words of notifications: channels, the upstream events reacted to, stream names."""

from xieshang.kernel.messages import register_labels

INBOX = "inbox"

# Events of the proposals service this service reacts to (by type name; the contract is
# services/proposals/domain/events.py, read through the kernel, never imported).
PROPOSAL_FILED, PROPOSAL_ASSIGNED, PROPOSAL_REPLIED = "ProposalFiled", "ProposalAssigned", "ProposalReplied"


def notices_stream(subject_stream: str) -> str:
    """Every notification about one case, e.g. ``notices-proposal-0b6f…``: an auditor sees who
    was told what about it, and when."""
    return f"notices-{subject_stream}"


# What a refusal calls each command (xieshang.kernel.messages): English, Chinese.
COMMAND_LABELS: dict[str, tuple[str, str]] = {
    "read_inbox": ("read this inbox", "查看此通知收件箱"),
}
register_labels("notify", COMMAND_LABELS)
