"""The classifier end to end: real embedder, real training, real model files; no mocks."""

from __future__ import annotations

import json
import logging
import re
import shutil

import pytest
from click.testing import CliRunner
from conftest import ROOT, shared_path

from monitor.commands.learn import run_classify
from monitor.config.topics import load_topics
from monitor.learn.evaluate import figures
from monitor.learn.train import (
    DEV_DIR,
    LABELS_DIR,
    REAL_DEV,
    TRAIN_FILES,
    default_examples,
    labels_from_decisions,
    labels_from_jsonl,
    labels_from_newsletter,
    train,
)
from monitor.models import OFF_TOPIC, Item, Label
from monitor.pipeline.classify import load_classifier

TOPICS = ROOT / "topics.yaml"


@pytest.fixture(scope="session")
def model_path(tmp_path_factory):
    """A model trained once per session on our train splits only (no ../shared needed)."""
    path = tmp_path_factory.mktemp("model") / "model" / "classifier.npz"
    return train(default_examples(newsletter_dir=None), path)


@pytest.fixture(scope="session")
def classifier(model_path):
    return load_classifier(model_path=model_path, topics=TOPICS)


def item(title: str, summary: str = "", lang: str = "en") -> Item:
    return Item(source="test", url="https://example.org/x", title=title, summary=summary, lang=lang)


CLEAR = [  # none of these is in the train split
    ("political_diplomatic", "Putin and Xi discuss bilateral ties by phone ahead of BRICS summit",
     "en"),
    ("political_diplomatic", "王毅同哈萨克斯坦外长举行会谈", "zh"),
    ("military_security", "Russian and Chinese navies begin joint drills in the Baltic Sea", "en"),
    ("military_security", "Минобороны: российские и китайские бомбардировщики совершили "
                          "патрулирование", "ru"),
    ("economy_trade_sanctions", "China-Russia trade turnover falls as payment problems mount",
     "en"),
    ("economy_trade_sanctions", "美国宣布对多家中国企业实施对俄相关制裁", "zh"),
    ("energy_minerals_cleantech", "Gazprom raises gas exports to China via Power of Siberia", "en"),
    ("energy_minerals_cleantech", "Китай увеличил импорт российской нефти", "ru"),
    ("tech_cyber_info", "Chinese state hackers breach European government networks", "en"),
    ("tech_cyber_info", "Роскомнадзор заблокировал популярный мессенджер", "ru"),
    ("taiwan_indopacific_west", "PLA stages large-scale drills around Taiwan", "en"),
    ("taiwan_indopacific_west", "外交部：坚决反对美国向台湾出售武器", "zh"),
]


def test_clear_examples_route_to_their_bucket(classifier) -> None:
    items = [item(title, lang=lang) for _, title, lang in CLEAR]
    classifier.classify(items)
    got = [(expected, i.bucket, i.title) for (expected, _, _), i in zip(CLEAR, items)]
    assert [g for g in got if g[0] != g[1]] == []


def test_off_topic_items_are_dropped_with_full_fields(classifier) -> None:
    items = [item("Spartak beat CSKA 3-1 in Moscow derby", "The hosts scored twice in the "
                  "second half at the Lokomotiv stadium."),
             item("大熊猫宝宝在成都迎来一周岁生日", lang="zh"),
             item("Синоптики обещают снег и гололед на выходных", lang="ru")]
    classifier.classify(items)
    for i in items:
        assert i.bucket == OFF_TOPIC, i.title
        assert 0.5 <= i.confidence <= 1
        assert set(i.scores) == {*classifier.topics.ids, OFF_TOPIC}
        assert i.scores[OFF_TOPIC] == pytest.approx(i.confidence, abs=1e-3)
        assert i.model_version == classifier.version
        assert i.why


def test_relevant_item_explains_itself(classifier) -> None:
    [i] = classifier.classify([item("Lavrov meets Wang Yi to prepare SCO summit")])
    assert i.bucket == "political_diplomatic"
    assert "terms:" in i.why and "like [" in i.why and len(i.why) <= 160
    assert "like [off_topic]" not in i.why  # the nearest *relevant* example explains relevance
    assert i.model_version.startswith("lr-")


def test_threshold_moves_items_between_relevant_and_off_topic(classifier) -> None:
    [probe] = classifier.classify([item("Chinese tourists flock to Russian Far East resorts")])
    p_rel = 1 - probe.scores[OFF_TOPIC]
    [low] = classifier.classify([item(probe.title)], threshold=max(p_rel - 0.01, 0.0))
    [high] = classifier.classify([item(probe.title)], threshold=min(p_rel + 0.01, 1.0))
    assert low.bucket != OFF_TOPIC and high.bucket == OFF_TOPIC
    # never more relevant items at a higher threshold
    titles = [json.loads(line)["title"] for line in
              (DEV_DIR / "dev.jsonl").read_text(encoding="utf-8").splitlines()]
    counts = [sum(i.bucket != OFF_TOPIC for i in classifier.classify(
        [item(t) for t in titles], threshold=thr)) for thr in (0.1, 0.5, 0.9)]
    assert counts[0] >= counts[1] >= counts[2] and counts[0] > counts[2]


def test_each_language_gets_its_own_threshold(classifier) -> None:
    """topics.yaml's `relevance_thresholds` decide by the item's language; an explicit threshold
    (a source's option) overrides them."""
    from dataclasses import replace

    title = "Chinese tourists flock to Russian Far East resorts"
    [probe] = classifier.classify([item(title)])
    p_rel = 1 - probe.scores[OFF_TOPIC]
    strict = replace(classifier.topics, relevance_threshold=0.0,
                     language_thresholds={"en": min(p_rel + 0.01, 1.0)})
    clf = type(classifier)(strict, classifier.model_path)
    en, ru = clf.classify([item(title), item(title, lang="ru")])
    assert en.bucket == OFF_TOPIC and ru.bucket != OFF_TOPIC  # same text, same score
    [forced] = clf.classify([item(title)], threshold=0.0)
    assert forced.bucket != OFF_TOPIC


def test_dev_set_meets_issue_targets(classifier) -> None:
    rows = [json.loads(line) for line in
            (DEV_DIR / "dev.jsonl").read_text(encoding="utf-8").splitlines()]
    items = classifier.classify([item(r["title"], r["summary"], r["lang"]) for r in rows])
    fig = figures([r["bucket"] for r in rows], [i.bucket for i in items])
    assert fig.relevant_recall >= 0.90
    assert fig.off_recall >= 0.70
    assert fig.bucket_accuracy >= 0.70


@pytest.mark.parametrize("content", [b"", b"not a zip file", b"PK\x03\x04broken"])
def test_corrupt_model_falls_back_to_seed_model_with_warning(tmp_path, caplog, content) -> None:
    path = tmp_path / "classifier.npz"
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="monitor.classify"):
        clf = load_classifier(model_path=path, topics=TOPICS)
    assert clf.version.startswith("seed-")
    assert any("unusable" in r.getMessage() for r in caplog.records)
    [i] = clf.classify([item("Путин провел переговоры с Си Цзиньпином", lang="ru")])
    assert i.bucket == "political_diplomatic"


def test_missing_model_falls_back_and_new_model_is_picked_up(tmp_path, caplog,
                                                             model_path) -> None:
    path = tmp_path / "model" / "classifier.npz"
    with caplog.at_level(logging.WARNING, logger="monitor.classify"):
        clf = load_classifier(model_path=path, topics=TOPICS)
    assert clf.version.startswith("seed-") and "no classifier model" in caplog.text
    assert clf.reload_if_changed() is False
    path.parent.mkdir(parents=True)
    shutil.copy(model_path, path)
    shutil.copy(model_path.with_suffix(".json"), path.with_suffix(".json"))
    [i] = clf.classify([item("Xi and Putin hold talks")])  # no restart, no explicit reload
    assert i.model_version.startswith("lr-") and clf.version == i.model_version
    assert clf.reload_if_changed() is False
    path.with_suffix(".json").unlink()
    path.write_bytes(b"half-written")
    assert clf.reload_if_changed() is True and clf.version.startswith("seed-")


def test_precomputed_vectors_give_the_same_answer(classifier) -> None:
    from monitor.learn.embed import embed
    from monitor.text import item_text

    a = item("China, Russia sign deal on yuan settlements", "Banks will expand payments.")
    b = item(a.title, a.summary)
    classifier.classify([a])
    classifier.classify([b], vectors=embed([item_text(b.title, b.summary)]))
    assert (a.bucket, a.scores) == (b.bucket, b.scores)


def test_model_metadata_records_version_and_size(model_path) -> None:
    meta = json.loads(model_path.with_suffix(".json").read_text(encoding="utf-8"))
    size = sum(len(labels_from_jsonl(LABELS_DIR / name)) for name in TRAIN_FILES)
    assert meta["examples"] == size and meta["version"].endswith(f"-n{size}")


def test_eval_figures_on_a_tiny_known_set() -> None:
    truth = ["off_topic", "off_topic", "military_security", "military_security", "tech_cyber_info"]
    pred = ["off_topic", "military_security", "military_security", "off_topic", "tech_cyber_info"]
    fig = figures(truth, pred)
    assert fig.accuracy == pytest.approx(3 / 5)
    assert fig.off_precision == pytest.approx(1 / 2) and fig.off_recall == pytest.approx(1 / 2)
    assert fig.macro_f1 == pytest.approx((0.5 + 0.5 + 1.0) / 3)
    assert fig.relevant_recall == pytest.approx(2 / 3)
    assert fig.bucket_accuracy == pytest.approx(1.0)
    assert fig.confusion["military_security"]["off_topic"] == 1


def test_labels_from_editor_decisions() -> None:
    rows = [Label("a", "", "en", "tech_cyber_info", origin="editor"),
            Label("b", "", "ru", OFF_TOPIC, origin="editor-skip"),
            Label("c", "", "zh", "political_diplomatic", origin="editor-offtopic")]
    got = labels_from_decisions(rows)
    # a skip teaches nothing; Off-topic teaches off_topic at full weight, whatever the bucket
    assert [(e.title, e.bucket, e.weight) for e in got] == [("a", "tech_cyber_info", 1.0),
                                                              ("c", OFF_TOPIC, 1.0)]


def test_training_never_reads_the_dev_split(model_path, real_model) -> None:
    """No dev item is a training example: not among the labels `monitor train` reads, and no
    stored example's embedding is a dev item's (a recurring Kremlin title with another lead is
    the only title the two splits share)."""
    from monitor.learn.embed import embed
    from monitor.learn.model import model_vectors, read_model
    from monitor.learn.train import label_text
    from monitor.text import item_text

    dev = [json.loads(line) for line in REAL_DEV.read_text(encoding="utf-8").splitlines()
           if line.strip()]
    assert len(dev) == 639 and REAL_DEV.name not in TRAIN_FILES
    dev_texts = {item_text(r["title"], r["summary"]) for r in dev}
    assert not dev_texts & {label_text(e) for e in default_examples()}
    texts = sorted(dev_texts)
    use = embed(texts)
    for path in (model_path, real_model):
        model = read_model(path)
        sims = model_vectors(model, use, texts) @ model.ex_vecs.astype("float32").T
        assert sims.max() < 0.999, path


def test_training_needs_both_kinds_of_label(tmp_path) -> None:
    with pytest.raises(ValueError, match="both"):
        train([Label("Putin meets Xi", "", "en", "political_diplomatic")], tmp_path / "m.npz")


def test_cli_classify_reports_bad_lines_and_exits_1(tmp_path, monkeypatch, model_path) -> None:
    from monitor.cli import main

    (tmp_path / "model").mkdir()
    shutil.copy(model_path, tmp_path / "model" / "classifier.npz")
    monkeypatch.setenv("MONITOR_STORAGE", str(tmp_path))
    monkeypatch.setenv("MONITOR_TOPICS", str(TOPICS))
    lines = ['{"title": "Xi and Putin hold talks in Kazan", "source": "tass", "lang": "en"}',
             "this is not json",
             '{"url": "https://example.org/only-a-url"}',
             '{"title": "", "summary": "Zenit beat Spartak 2-0 in the Russian Premier League"}']
    result = CliRunner().invoke(main, ["classify"], input="\n".join(lines) + "\n")
    assert result.exit_code == 1
    errors = result.stderr.strip().splitlines()
    assert len([e for e in errors if "line " in e]) == 2
    assert "line 2: not valid JSON" in result.stderr and "line 3: needs a title" in result.stderr
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert [o["bucket"] for o in out] == ["political_diplomatic", OFF_TOPIC]
    assert out[0]["source"] == "tass" and 0 <= out[0]["confidence"] <= 1 and out[0]["scores"]


def test_eval_mode_prints_overall_and_per_language_figures(classifier) -> None:
    import io

    rows = [{"title": "Путин и Си Цзиньпин провели переговоры", "lang": "ru",
             "bucket": "political_diplomatic"},
            {"title": "Zenit beat Spartak in derby", "lang": "en", "bucket": "off_topic"},
            {"title": "中俄举行联合军演", "lang": "zh", "bucket": "military_security"},
            {"title": "no true bucket here", "lang": "en"}]
    out, err = io.StringIO(), io.StringIO()
    code = run_classify(classifier, io.StringIO("\n".join(json.dumps(r) for r in rows)),
                        out, err, evaluate=True)
    text = out.getvalue()
    assert code == 1 and "line 4" in err.getvalue()
    assert text.count(" accuracy=1.000") == 4  # all, en, zh, ru
    for name in ("all:", "en:", "zh:", "ru:", "macro_f1=", "off_topic_precision=", "true\\pred"):
        assert name in text


def test_newsletter_items_are_recalled_by_a_model_that_never_saw_them(classifier) -> None:
    examples = labels_from_newsletter(shared_path("newsletter/2024-07-07-items.jsonl"))
    assert len(examples) >= 20
    items = classifier.classify([item(e.title, e.summary) for e in examples])
    fig = figures([e.bucket for e in examples], [i.bucket for i in items])
    assert fig.relevant_recall >= 0.90
    assert fig.bucket_accuracy >= 0.70


@pytest.fixture(scope="module")
def real_model(tmp_path_factory):
    """A model trained as `monitor train` does: our train splits, plus the newsletter items
    when ../shared is there."""
    return train(default_examples(), tmp_path_factory.mktemp("real") / "classifier.npz")


@pytest.fixture(scope="module")
def real_eval(real_model):
    """`monitor classify --eval` on the real dev split (real items; never trained on)."""
    import io

    clf = load_classifier(model_path=real_model, topics=TOPICS)
    out, err = io.StringIO(), io.StringIO()
    with REAL_DEV.open(encoding="utf-8") as stdin:
        assert run_classify(clf, stdin, out, err, evaluate=True) == 0, err.getvalue()
    lines = out.getvalue().splitlines()
    figs = {}
    for line in lines:
        name, _, rest = line.partition(": n=")
        if rest and name in ("all", "en", "ru", "zh"):
            figs[name] = {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", "n=" + rest)}
    return lines, figs


@pytest.mark.parametrize("lang", ["all", "en", "ru", "zh"])
def test_real_dev_split_keeps_relevant_recall(real_eval, lang) -> None:
    _, figs = real_eval
    assert figs["all"]["n"] == 639
    assert figs[lang]["relevant_recall"] >= 0.95  # the editor must not miss stories


@pytest.mark.parametrize("lang", ["all", "en", "ru", "zh"])
def test_real_dev_split_regression_floors(real_eval, lang) -> None:
    """Measured when written (USE + e5, thresholds en 0.45, ru 0.25, zh 0.20): rejection 0.63
    (en 0.77, ru 0.58, zh 0.52), bucket accuracy 0.83 (en 0.83, ru 0.82, zh 0.85). USE alone at
    one threshold of 0.26 rejected 0.48 (zh 0.35) and placed 0.79; the first model 0.33."""
    _, figs = real_eval
    assert figs[lang]["off_topic_recall"] >= (0.45 if lang == "zh" else 0.52)
    assert figs[lang]["bucket_accuracy"] >= 0.78


@pytest.mark.xfail(reason="issue 11's targets, not met yet: off-topic rejection is 0.63 and bucket "
                          "accuracy 0.83 at recall >= 0.95 on the real dev split; see "
                          "tests/fixtures/classify/README.md", strict=False)
@pytest.mark.parametrize("lang", ["all", "en", "ru", "zh"])
def test_real_dev_split_meets_the_issue_targets(real_eval, lang) -> None:
    _, figs = real_eval
    assert figs[lang]["off_topic_recall"] >= 0.85
    assert figs[lang]["bucket_accuracy"] >= 0.85


def test_eval_prints_the_recall_rejection_curve(real_eval) -> None:
    lines, _ = real_eval
    start = next(i for i, line in enumerate(lines) if line.startswith("recall/rejection curve"))
    assert start > 4  # after the figures
    rows = [line.split() for line in lines[start + 2:]]
    marked = [r for r in rows if r[0] == "*"]
    default = load_topics(TOPICS).relevance_threshold
    assert len(marked) == 1 and float(marked[0][1]) == pytest.approx(default)
    head = next(line for line in lines if line.startswith("model "))
    assert head.endswith(", en 0.45, ru 0.25, zh 0.20"), head  # topics.yaml's per language
    points = [[float(x) for x in (r[1:5] if r[0] == "*" else r[:4])] for r in rows]
    assert len(points) >= 8
    thresholds, recall, reject, shown = zip(*points)
    assert list(thresholds) == sorted(thresholds)
    assert list(recall) == sorted(recall, reverse=True) and list(reject) == sorted(reject)
    assert list(shown) == sorted(shown, reverse=True) and shown[0] <= 639
    assert "en:rec/rej" in lines[start + 1] and "zh:rec/rej" in lines[start + 1]
