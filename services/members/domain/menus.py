"""Duty menus 菜单式履职 (永嘉): staff publish a menu of duty activities 下单, members sign up for
items 选单 (or staff designate them 指定认领), each sign-up credits the member (stream
``menu-<id>``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from xieshang.kernel.domain import DomainEvent, InvalidCommand, NotAllowed, NotFound, WrongState
from xieshang.kernel.envelope import Actor
from xieshang.kernel.ids import is_id

from .access import is_staff, may_sign_up, require_staff
from .checks import check_id, is_year, required
from .commands import PublishMenu, SignUpForMenu
from .events import DutyMenuPublished, MenuSignedUp
from .members import Member, require_active
from .organisations import OrgIndex
from .points import Credit
from .vocabulary import MENU_FORMS


@dataclass(frozen=True)
class Menu:
    menu_id: str
    published: DutyMenuPublished | None = None
    sign_ups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)   # member -> item ids

    @property
    def item_ids(self) -> list[str]:
        return [i["item_id"] for i in self.published.items] if self.published else []


def fold_menu(menu_id: str, events: Iterable[DomainEvent]) -> Menu:
    state = Menu(menu_id)
    for e in events:
        if isinstance(e, DutyMenuPublished):
            state = Menu(menu_id, e, {})
        elif isinstance(e, MenuSignedUp):
            chosen = dict(state.sign_ups)
            chosen[e.member_id] = tuple(dict.fromkeys(chosen.get(e.member_id, ()) + tuple(e.item_ids)))
            state = dataclasses.replace(state, sign_ups=chosen)
    return state


def publish_menu(actor: Actor, state: Menu, cmd: PublishMenu,
                 index: OrgIndex | None = None) -> list[DomainEvent]:
    """Staff publish a menu of duty activities 下单 (leaders, committees, members and the public
    suggest the topics; staff publish them). With ``index``, the sector (id or name) is resolved
    to an open sector; without it, it is taken as given."""
    year, title, items, sector = cmd.year, cmd.title, cmd.items, cmd.sector
    require_staff(actor, "publish_menu", "only committee staff publish a duty menu")
    if state.published is not None:
        raise WrongState("publish_menu", "published", ("sign_up_for_menu",),
                         ("the menu is published already", "该履职菜单已发布"))
    problems: dict[str, str] = {}
    check_id(problems, "menu_id", state.menu_id)
    title = required(problems, "title", title, 2, 200)
    if sector is not None and index is not None:
        found, problem = index.find(("sector",), sector)
        if found is None:
            problems["sector"] = problem or "unknown"
        else:
            sector = found.org_id
    if not is_year(year):
        problems["year"] = "a year, e.g. 2024"
    clean: list[dict[str, str]] = []
    if isinstance(items, (str, Mapping)) or not items:
        problems["items"] = "a list of at least one item {item_id, title, form}"
    else:
        for n, item in enumerate(items, 1):
            if not isinstance(item, Mapping) or not is_id(str(item.get("item_id", ""))) \
                    or not 2 <= len(str(item.get("title", "")).strip()) <= 200 \
                    or item.get("form") not in MENU_FORMS:
                problems[f"items[{n}]"] = ("item_id, a title of 2 to 200 characters, form one of "
                                          + ", ".join(MENU_FORMS))
            else:
                clean.append({"item_id": str(item["item_id"]), "title": str(item["title"]).strip(),
                              "form": str(item["form"])})
        ids = [i["item_id"] for i in clean]
        if len(set(ids)) != len(ids):
            problems["items"] = "item ids repeat"
    if problems:
        raise InvalidCommand(("the menu is incomplete or malformed", "履职菜单不完整或格式有误"), problems)
    return [DutyMenuPublished(menu_id=state.menu_id, year=year, title=title, items=clean, sector=sector)]


def sign_up_for_menu(actor: Actor, menu: Menu, cmd: SignUpForMenu, member: Member) -> list[DomainEvent]:
    """A member signs up for menu items 选单 (or staff designate them 指定认领), one or more at a
    time. The minimum (two items for standing committee and party members, one for everyone
    else) is for what a member holds in the year, not for each sign-up: the menu shows who has
    not met it yet (``get_menu``: ``met``, ``short``)."""
    item_ids = cmd.item_ids
    designated = is_staff(actor)
    if not may_sign_up(actor, member.member_id):
        raise NotAllowed("sign_up_for_menu", ("a member signs up themselves (or staff designate items)",
                                              "委员只能为自己认领（或由工作人员指定）"))
    if menu.published is None:
        raise NotFound((f"no duty menu {menu.menu_id!r}", f"没有履职菜单 {menu.menu_id!r}"))
    require_active(member, "sign_up_for_menu")
    problems: dict[str, str] = {}
    if menu.published.sector and member.sector != menu.published.sector:
        problems["member_id"] = f"this menu is for the members of sector {menu.published.sector}"
    if isinstance(item_ids, str) or not all(isinstance(i, str) for i in item_ids or ()):
        problems["item_ids"] = "a list of item ids"
        item_ids = []
    elif not item_ids:
        problems["item_ids"] = "至少选择一项 at least one item id"
    unknown = [i for i in item_ids if i not in menu.item_ids]
    held = menu.sign_ups.get(member.member_id, ())
    new = [i for i in dict.fromkeys(item_ids) if i not in held and i not in unknown]
    if unknown:
        problems["item_ids"] = f"not on the menu: {', '.join(unknown)} (it offers {', '.join(menu.item_ids)})"
    if problems:
        raise InvalidCommand(("the sign-up is malformed", "认领内容格式有误"), problems)
    if not new:
        return []
    return [MenuSignedUp(menu_id=menu.menu_id, member_id=member.member_id, item_ids=new,
                         year=menu.published.year, designated=designated)]


def menu_credits(e: MenuSignedUp, *, event_id: str, stream: str, service: str) -> list[Credit]:
    return [Credit(e.member_id, "menu_signup", service, event_id, stream, e.year,
                   f"menu:{e.menu_id}:{item}", f"认领菜单 {e.menu_id}/{item}") for item in e.item_ids]

