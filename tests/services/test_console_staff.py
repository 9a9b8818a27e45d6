"""The staff pages' own pieces, without a stack: the server-drawn SVG charts (valid, named and
described, escaped, no script), a refused roster's problems as table rows, the Chinese words
of the services' reasons the pages know."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from services.gateway.console.pages import staff

SVG = "{http://www.w3.org/2000/svg}"


class Visit:   # what the helpers read of a visit: the language
    def __init__(self, lang: str = "zh"):
        self.lang = lang

    def t(self, zh: str, en: str) -> str:
        return zh if self.lang == "zh" else en


def test_a_bar_chart_is_an_accessible_svg_with_every_value_in_its_description():
    svg = str(staff.bar_chart("c1", "各单位按时答复率", [
        ("市林业和草原局", 0.5, "50.0%"), ("<script>", None, "不公开"), ("一个名字非常非常长的承办单位", 1.0, "100.0%")],
        scale=1.0))
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.get("aria-labelledby") == "c1-t c1-d"
    assert root.find(f"{SVG}title").text == "各单位按时答复率"
    assert root.find(f"{SVG}desc").text == "市林业和草原局：50.0%；<script>：不公开；一个名字非常非常长的承办单位：100.0%"
    assert "<script>" not in svg and "style=" not in svg          # escaped; nothing the CSP refuses
    bars = root.findall(f"{SVG}rect")
    assert [float(b.get("width")) for b in bars] == [124.0, 248.0]   # half and full; none for no value
    labels = [t.text for t in root.findall(f"{SVG}text")]
    assert "一个名字非常非常…" in labels and "不公开" in labels


def test_an_empty_chart_says_so():
    root = ET.fromstring(str(staff.bar_chart("c2", "空", [], empty="本年度暂无数据")))
    assert [t.text for t in root.findall(f"{SVG}text")] == ["本年度暂无数据"]
    assert root.find(f"{SVG}desc").text == "本年度暂无数据"


def test_a_refused_rosters_problems_become_rows_in_chinese_or_as_given():
    fields = {"row 12, 界别": "required, 1 to 64 characters", "row 3, 职务": "unknown 职务 '主任'; known: 常委",
              "row 3, 姓名": "the same member as row 2: same 姓名, 界别 and 届次; add a 编号 column to tell them apart",
              "header": "missing column(s) 届次", "row 4, 手机": "a mobile number of 11 digits"}
    rows = staff.roster_problems(Visit("zh"), fields)
    assert [(r["row"], r["field"], r["problem"]) for r in rows] == [
        (None, "表头", "缺少列：届次"),
        (3, "姓名", "与第 2 行是同一位委员（姓名、界别、届次相同；可加“编号”列区分）"),
        (3, "职务", "无法识别的职务“主任”"),
        (4, "手机", "a mobile number of 11 digits"),                 # not known here: as the service says it
        (12, "界别", "必填，1 至 64 个字")]
    english = staff.roster_problems(Visit("en"), {"row 12, 界别": "required, 1 to 64 characters"})
    assert english == [{"row": 12, "field": "界别", "problem": "required, 1 to 64 characters"}]


def test_an_assignments_deadline_reasons_in_chinese():
    zh = Visit("zh")
    assert staff._in_words(zh, "must be after today (2026-12-02)") == "须晚于今天（2026-12-02）"
    assert staff._in_words(zh, "must be within 365 days") == "须在 365 天以内"
    assert staff._in_words(zh, "something else") == "something else"
    assert staff._in_words(Visit("en"), "must be within 365 days") == "must be within 365 days"
