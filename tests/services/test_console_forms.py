"""The console's forms, made from the API's request models (no server)."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from services.gateway import api
from services.gateway.console import forms


def _form(**fields):
    data = MultiDict()
    for key, value in fields.items():
        for v in value if isinstance(value, list) else [value]:
            data.add(key, v)
    return data


def test_a_models_fields_become_labelled_inputs_of_the_right_kind():
    made = {i.name: i for i in forms.inputs(api.SubmitProposal, "zh",
                                            choices={"co_signers": [("m-1", "王建国")]})}
    assert made["title"].label == "标题" and made["title"].widget == "text" and made["title"].required
    assert made["reasons"].widget == "textarea" and made["reasons"].max_length == 20_000
    assert made["category"].widget == "select" and ("economy", "economy") in made["category"].choices
    assert made["co_signers"].widget == "checkboxes" and made["co_signers"].choices == [("m-1", "王建国")]
    assert made["publish_consent"].widget == "checkbox"
    assert made["body.type"].label.startswith("集体提案单位") and "on_behalf_of" not in made
    english = {i.name: i for i in forms.inputs(api.Assign, "en")}
    assert english["deadline"].widget == "date" and english["lead_unit"].label == "Lead unit"


def test_a_posted_form_becomes_the_body_the_route_takes():
    body = forms.body_from_form(api.SubmitProposal, form := _form(
        title=" 关于建设口袋公园的提案 ", reasons="社区缺少活动场地", suggestions="利用闲置地块", category="society",
        co_signers=["m-1", "m-2"], **{"co_signers.present": "1", "publish_consent.present": "1",
                                       "body.type": "sector", "body.name": "经济界", "kind": ""}), form.getlist)
    assert body == {"title": "关于建设口袋公园的提案", "reasons": "社区缺少活动场地", "suggestions": "利用闲置地块",
                    "category": "society", "co_signers": ["m-1", "m-2"], "publish_consent": False,
                    "body": {"type": "sector", "name": "经济界"}}
    lines = forms.body_from_form(api.Assign, f := _form(lead_unit="u-1", co_units="u-2\nu-3", urgent="true"),
                                 f.getlist)
    assert lines == {"lead_unit": "u-1", "co_units": ["u-2", "u-3"], "urgent": True}


def test_refused_fields_are_named_in_the_visitors_language_with_why():
    errors = forms.check(api.SubmitProposal, {"title": "短", "reasons": "x" * 5, "category": "nonsense"}, "zh")
    assert errors["title"] == "至少 2 个字" and errors["suggestions"] == "必填"
    assert errors["category"] == "请从所列选项中选择"
    assert forms.named_fields(errors, "zh").startswith("标题、")
    assert forms.check(api.SubmitProposal, {"title": "短"}, "en")["title"] == "at least 2 characters"
    assert forms.check(api.Assign, {"lead_unit": "u-1", "deadline": "明天"}, "zh")["deadline"].startswith("请填写有效日期")
