"""The words of opinion reports: who submits, through which channel, in which category."""

from xieshang.kernel.messages import register_labels

SUBMITTERS = ("member", "informant")  # 委员, 社情民意信息员 / 特邀信息员
# The six collection channels 六条渠道: 领导点、专委会搜、委员提、活动找、提案转、会议集.
CHANNELS = ("leader", "committee", "member", "activity", "proposal", "meeting")
CATEGORIES = ("economy", "politics", "culture", "society", "ecology", "other")
TITLE_LENGTH = (2, 200)
CONTENT_LENGTH = (10, 20_000)


def opinion_stream(report_id: str) -> str:
    return f"opinion-{report_id}"


# What a refusal calls each command and role (xieshang.kernel.messages): English, Chinese.
COMMAND_LABELS: dict[str, tuple[str, str]] = {
    "submit_opinion_report": ("submit an opinion report", "报送社情民意信息"),
}
ROLE_LABELS: dict[str, tuple[str, str]] = {"member": ("member", "委员"), "informant": ("informant", "信息员")}
register_labels("feedback", COMMAND_LABELS, {}, ROLE_LABELS)
