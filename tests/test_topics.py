"""topics.yaml: the shipped file is valid, and every kind of bad input names its key."""

from __future__ import annotations

import copy
import re

import pytest
import yaml
from conftest import ROOT

from monitor.config.topics import load_topics, parse_topics, term_regex
from monitor.errors import ConfigError

DESIGN_IDS = ["political_diplomatic", "military_security", "economy_trade_sanctions",
              "energy_minerals_cleantech", "tech_cyber_info", "taiwan_indopacific_west"]


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load((ROOT / "topics.yaml").read_text(encoding="utf-8"))


def test_shipped_topics_have_design_buckets_with_terms_in_three_languages() -> None:
    topics = load_topics(ROOT / "topics.yaml")
    assert topics.ids == DESIGN_IDS
    assert 0 < topics.relevance_threshold < 1
    for bucket in (*topics.buckets, topics.off_topic):
        assert set(bucket.terms) == {"en", "zh", "ru"}, bucket.id
        assert bucket.title and bucket.description


@pytest.mark.parametrize("edit, key", [
    (lambda d: d["buckets"][1]["terms"].update(zh="导弹"), "buckets[1].terms.zh"),
    (lambda d: d["buckets"][2]["terms"].update(de=["Handel"]), "buckets[2].terms.de"),
    (lambda d: d["buckets"][0].pop("title"), "buckets[0].title"),
    (lambda d: d["buckets"][3].update(id="Energy!"), "buckets[3].id"),
    (lambda d: d["buckets"][4].update(id="political_diplomatic"), "buckets[4].id"),
    (lambda d: d["buckets"][5].update(colour="red"), "buckets[5].colour"),
    (lambda d: d.update(relevance_threshold=1.5), "relevance_threshold"),
    (lambda d: d.update(relevance_thresholds={"de": 0.3}), "relevance_thresholds.de"),
    (lambda d: d.update(relevance_thresholds={"zh": "low"}), "relevance_thresholds.zh"),
    (lambda d: d.update(relevance_thresholds=0.3), "relevance_thresholds"),
    (lambda d: d.update(buckets=[]), "buckets"),
    (lambda d: d.pop("off_topic"), "off_topic"),
    (lambda d: d["off_topic"]["terms"].update(ru=[""]), "off_topic.terms.ru"),
])
def test_invalid_topics_raise_config_error_naming_the_key(raw: dict, edit, key: str) -> None:
    data = copy.deepcopy(raw)
    edit(data)
    with pytest.raises(ConfigError) as info:
        parse_topics(data, "topics.yaml")
    assert f"key '{key}'" in str(info.value)
    assert "\n" not in str(info.value)


def test_thresholds_per_language_fall_back_to_the_default(raw: dict) -> None:
    data = copy.deepcopy(raw)
    data.update(relevance_threshold=0.3, relevance_thresholds={"en": 0.5, "zh": 0.1})
    topics = parse_topics(data)
    assert [topics.threshold_for(lang) for lang in ("en", "zh", "ru", "", None)] == \
        [0.5, 0.1, 0.3, 0.3, 0.3]
    data.pop("relevance_thresholds")
    assert parse_topics(data).threshold_for("en") == 0.3


def test_unreadable_or_broken_file_is_a_config_error(tmp_path) -> None:
    bad = tmp_path / "topics.yaml"
    bad.write_text("buckets: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_topics(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_topics(tmp_path / "absent.yaml")


def test_term_matching_rules() -> None:
    # acronyms match whole and in capitals only; stems match at a word start; CJK anywhere
    assert re.search(term_regex("EV"), "EV makers") and not re.search(term_regex("EV"), "every")
    assert not re.search(term_regex("SCO"), "the disco")
    assert re.search(term_regex("военн"), "Российские военные провели")
    assert not re.search(term_regex("военн"), "послевоенный")
    assert re.search(term_regex("导弹"), "俄军发射导弹袭击")
    topics = load_topics(ROOT / "topics.yaml")
    hits = topics.get("energy_minerals_cleantech").matches("Газпром увеличил поставки газа")
    assert "газпром" in hits and "газ" in hits
