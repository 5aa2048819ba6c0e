"""Default settings that follow the corpus: its language, the model's level, pretrained vectors, sizes.

``ner train`` with no settings must do well on a corpus we have never seen,
in any language and of any size. :func:`resolve` looks at the training data,
detects its language, picks the level (characters for Chinese and Japanese,
for the other scripts written without spaces between words, such as Thai and
Khmer, for a corpus whose entities often start or end inside a word of its
text, such as Korean names followed by a particle, and for a corpus whose
tokens are nearly all single characters, such as Korean annotated by
syllable; words otherwise; a corpus in words trained at the character level
is cut into characters), the pretrained vectors and the
lexicon, and sizes the model, its regularisation and its training schedule
by the amount of data (a corpus of a few hundred sentences gets as many
updates as one of 1,500, not fewer). Settings the user gives always win.
Every choice comes with a reason, logged and written into the model card.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ner.config import ModelConfig, TrainConfig
from ner.corpus import Sentence, as_model_tokens, split_long
from ner.features import singleton_bigram_share
from ner.lexicon import LEXICON_LINES
from ner.tagger import MAX_WORDS
from ner.text import LANGUAGE_SCRIPTS, cjk_ratio, tokenize, unspaced_ratio, unspaced_script
from ner.vocab import GLOVE_PACKAGE, load_vector_words

log = logging.getLogger("ner.train")

CHARACTER_LANGUAGES = ("zh", "ja")
UNSPACED_CORPUS = 0.5  # share of characters in scripts without spaces between words above which: characters
INSIDE_WORD_ENTITIES = 0.1  # share of entities with an edge inside a word of the text above which: characters
CHARACTER_CORPUS = 0.9  # share of single-character tokens above which a corpus in any language is one of characters
GLOVE_LANGUAGE, GLOVE_DIM = "en", 50
GLOVE_MIN_COVERAGE = 0.8  # share of a corpus's word tokens that GloVe must know to be used
TRAINING_CHARACTERS = 250  # a character model's longest training piece, by default
SMALL_CORPUS = 5_000  # training sentences from which a character model keeps only bigrams seen twice or more
# Every model trains for up to 50 epochs with patience 10 whatever the corpus's size: a shorter schedule from
# 5,000 sentences (30 epochs, patience 5) lost dev F1 on English at 5,000, 10,000 and 14,041 sentences and on
# MSRA at 5,000 (mean of three seeds) and 10,000 (seed 2; seed 1 trained the same model) (docs/benchmarks.md).
# Below this many sentences the schedule is stretched to the same number of steps: an epoch
# of 300 sentences is a fifth of the updates of one of 1,500, so it gets five times the epochs and patience.
SCHEDULE_SENTENCES = 1_500
LARGE_CORPUS_BIGRAM_COUNT = 2  # from SMALL_CORPUS sentences: every bigram at 10,000 lost dev F1 and grew the model
MAX_STRETCH = 10  # a corpus of fewer than 150 sentences is trained as one of 150
GLOVE_SAVED_WORDS = 300_000  # GloVe words a model keeps after training (int8 tables: about 15 MB)
MAX_UNKNOWN_DROPOUT = 0.5  # beyond it a bigram would be unknown in training more often than known
# The settings :func:`resolve` chooses for a corpus when they are not given (`ner train --help` says so).
CHOSEN_FOR_CORPUS = frozenset(
    {
        *("level", "word_dim", "char_dim", "char_hidden", "bigram_dim", "hidden", "dropout", "word_dropout"),
        *("unknown_dropout", "lexicon_dim", "lexicon_words", "document_memory"),
        *("epochs", "patience", "lr_decay", "min_bigram_count", "saved_pretrained_top", "embedding_dtype"),
        *("language", "pretrained", "lexicon"),
    }
)
SCHEDULE_WORDING = {"epochs": "{} epochs", "patience": "patience {}", "lr_decay": "learning-rate decay {:g}"}
# What a setting's help says it is for (config.py), and so where it does nothing.
ONLY_FOR = {"char level": ("level", "char"), "word level": ("level", "word"), "sgd only": ("optimizer", "sgd")}


@dataclass(frozen=True)
class Recipe:
    """The settings a training run uses, and why each automatic choice was made."""

    model: ModelConfig
    train: TrainConfig
    language: str
    reasons: list[str] = field(default_factory=list)


# Hiragana, and the ideographs and kana it is counted among: Japanese writes its particles and endings in it
# (headlines in kanji: 10% of these or more; prose 30-50%), Chinese seldom (の in a Taiwanese shop's name).
# Katakana is left out: Chinese writes it for Japanese names (优衣库（ユニクロ）) and in kaomoji (ヽ(✿ﾟ▽ﾟ)ノ).
_HIRAGANA = re.compile("[\u3041-\u3096]")
_IDEOGRAPH_OR_KANA = re.compile(
    "[\u3041-\u3096\u30a1-\u30fa\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]"
)
MIN_HIRAGANA = 0.04


def detect_language(text: str) -> tuple[str, str]:
    """``(language code, how it was found)`` from a sample of a corpus's text."""
    cjk = cjk_ratio(text)
    if cjk > 0.5:
        how = f"{cjk:.0%} of the characters are CJK"
        hiragana = len(_HIRAGANA.findall(text)) / max(1, len(_IDEOGRAPH_OR_KANA.findall(text)))
        if hiragana >= MIN_HIRAGANA:  # langid reads Japanese written mostly in kanji as Chinese
            return "ja", how + f", {hiragana:.1%} of its ideographs and kana hiragana"
        if _langid(text) == "ja":
            return "ja", how + "; langid says Japanese"
        return "zh", how
    guessed = _langid(text)
    if guessed is None:
        return "en", "no language identifier installed (pip install py3langid); assumed English"
    return guessed, "identified by langid (py3langid)"


def _langid(text: str) -> str | None:
    try:
        import py3langid
    except ImportError:
        return None
    try:
        return py3langid.classify(text[:100_000])[0]
    except OSError as error:  # its model is unpacked into the temporary folder first
        raise OSError(
            f"language identification could not unpack its model in {tempfile.gettempdir()} "
            f"({error.strerror or error}): free space there (or set TMPDIR), or give --language"
        ) from None


def glove_coverage(sentences: Sequence[Sentence]) -> float:
    """The share of alphabetic word tokens whose lower-cased form has a GloVe vector."""
    words = [t.lower() for s in sentences for t in s.tokens if t.isalpha()]
    if not words:
        return 0.0
    known = load_vector_words(GLOVE_PACKAGE)
    return sum(w in known for w in words) / len(words)


def resolve(model_settings: dict, train_settings: dict, train: Sequence[Sentence]) -> Recipe:
    """The run's settings: the user's, completed by defaults chosen for ``train``."""
    given = TrainConfig.from_dict(train_settings)  # validates the names before any work
    reasons: list[str] = []  # each automatic choice, said in the log and the card
    language, level, train = _language_and_level(given.language, model_settings.get("level"), train, reasons)
    # Counted as trained on: a long text (a transcript, OCR without points) in the pieces the model reads.
    size = _pieces(train, level, piece_length(level, given.max_length))
    small = size < SMALL_CORPUS
    reason = f"{size} training sentences" + (f" (cut from {len(train)})" if size != len(train) else "")
    if level == "char":
        reason += ": every bigram kept" if small else f": bigrams seen at least {LARGE_CORPUS_BIGRAM_COUNT} times kept"
    reasons.append(reason)
    pretrained, lexicon = _vectors_and_lexicon(given, language, level, model_settings, train, reasons)
    if level == "char":
        model_settings = _lexicon_settings_used(lexicon, model_settings)

    model_defaults = _model_defaults(level, pretrained, lexicon, train)
    if level == "word" and "document_memory" not in model_settings:
        on = model_defaults["document_memory"]
        memory = "on: the corpus comes in documents" if on else "off: not 20 documents, half of several sentences"
        reasons.append(f"document memory: {memory}")
    if level == "char" and "unknown_dropout" not in model_settings:
        reasons.append(
            f"unknown dropout: {model_defaults['unknown_dropout']} (the share of training bigrams seen once, "
            "which estimates how many will be new at tagging time)"
        )
    stretch = _stretch(size)
    train_defaults = _train_defaults(level, small, stretch)
    chosen = [key for key in SCHEDULE_WORDING if key not in train_settings]  # a given one is not stretched
    if stretch > 1 and chosen:
        now = ", ".join(SCHEDULE_WORDING[key].format(train_defaults[key]) for key in chosen)
        before = ", ".join(SCHEDULE_WORDING[key].format(getattr(TrainConfig(), key)) for key in chosen)
        reasons.append(
            f"schedule: {now} ({before} stretched {stretch:g} times, so that {size} sentences get about as many "
            f"updates as {SCHEDULE_SENTENCES:,})"
        )
    if pretrained == GLOVE_PACKAGE:
        train_defaults.update(saved_pretrained_top=GLOVE_SAVED_WORDS, embedding_dtype="int8")
        if "saved_pretrained_top" not in train_settings:
            reasons.append(
                f"after training: the vectors of GloVe's {GLOVE_SAVED_WORDS:,} most frequent words, so that new "
                "text's rarer words are known"
            )
        if "embedding_dtype" not in train_settings:
            reasons.append("embedding tables stored in int8 (a quarter of float32's size)")
    model = ModelConfig.from_dict({**model_defaults, **model_settings, "level": level})
    config = TrainConfig.from_dict(
        {**train_defaults, **train_settings, "language": language, "pretrained": pretrained, "lexicon": lexicon}
    )
    _warn_idle(model_settings, train_settings, level, config.optimizer)
    if config.lowercase_rate and all(token == token.lower() for sentence in train for token in sentence.tokens):
        log.warning("--lowercase-rate has no effect on this run: no training token has a capital to take away")
    for reason in reasons:
        log.info("%s", reason)
    return Recipe(model, config, language, reasons)


def _warn_idle(model_settings: dict, train_settings: dict, level: str, optimizer: str) -> None:
    """Say which given settings this run does not use (a word model's ``--lexicon-dim``, Adam's
    ``--momentum``): kept in its config as given, but without effect. A settings file shared by corpora of
    both levels is not refused for them."""
    run = {"level": level, "optimizer": optimizer}
    for cls, given in ((ModelConfig, model_settings), (TrainConfig, train_settings)):
        for item in dataclasses.fields(cls):
            value = given.get(item.name, item.default)
            if item.name == "level" or value == item.default or value in (0, "none", "auto", False):
                continue  # not given, or given as it is by default or turned off: no claim
            for prefix, (setting, wanted) in ONLY_FOR.items():
                if item.metadata["help"].startswith(prefix) and run[setting] != wanted:
                    flag = "--" + item.name.replace("_", "-")
                    why = f"a {level}-level model" if setting == "level" else f"the {optimizer} optimizer"
                    log.warning("%s is not used by %s: it has no effect on this run", flag, why)


def _language_and_level(
    language: str, level: str | None, train: Sequence[Sentence], reasons: list[str]
) -> tuple[str, str, Sequence[Sentence]]:
    """The corpus's language and the model's level (the given ones, else found from the text), and the
    training sentences in the tokens that level reads; the reasons for what was found join ``reasons``."""
    text = corpus_text(train)
    if language == "auto":
        language, how = detect_language(text)
        reasons.append(f"language: {language} ({how})")
    unspaced = unspaced_ratio(text)
    characters = level == "char" or language in CHARACTER_LANGUAGES or (level is None and unspaced > UNSPACED_CORPUS)
    counted = (0, 0, []) if characters else inside_word_entities(train)  # which tokenizes the corpus
    if level is None:
        level, why = _choose_level(language, unspaced, counted[0] / max(counted[1], 1), train)
        reasons.append(f"level: {level} ({why})")
    elif level == "word" and unspaced > UNSPACED_CORPUS:
        log.warning(
            "a word-level model for a corpus in a script written without spaces between words (%.0f%% of its "
            "characters): tagging cuts such text into characters (CJK) or into phrases between spaces (Thai, "
            "Khmer, ...), not into the corpus's words; the character level is the default for it",
            100 * unspaced,
        )
    if level == "word":
        warn_of_entities_inside_words(*counted)
    tokens = sum(len(sentence.tokens) for sentence in train)
    train = as_model_tokens(train, level == "char")
    added = sum(len(sentence.tokens) for sentence in train) - tokens
    if level == "word" and added:
        reasons.append(
            f"tokens: words joined in one (Hà_Nội, or with a space) cut apart as tagging cuts text, {added} more"
        )
    return language, level, train


def _vectors_and_lexicon(
    given: TrainConfig,
    language: str,
    level: str,
    model_settings: dict,
    train: Sequence[Sentence],
    reasons: list[str],
) -> tuple[str, str]:
    """The pretrained vectors and the lexicon (the given ones, else chosen for the corpus); the reasons for
    what was chosen join ``reasons``."""
    if level == "char" and (given.pretrained not in ("auto", "none") or given.align_unseen):
        raise ValueError("--pretrained and --align-unseen give word vectors: a character-level model has no word table")
    pretrained = given.pretrained
    if pretrained == "auto":
        pretrained, why = _choose_vectors(language, level, model_settings.get("word_dim", GLOVE_DIM), train)
        reasons.append(f"pretrained vectors: {pretrained} ({why})")
    lexicon = given.lexicon
    if level == "char" and lexicon not in ("auto", "jieba", "none") and not Path(lexicon).is_file():
        raise ValueError(f"--lexicon {lexicon}: no such file (jieba, none, auto, or a file of words, {LEXICON_LINES})")
    if level == "char" and lexicon != "none" and model_settings.get("lexicon_dim") == 0:
        if lexicon != "auto":
            log.warning("--lexicon %s has no effect with --lexicon-dim 0 (no lexicon features): none is kept", lexicon)
        reasons.append("lexicon: none (--lexicon-dim 0)")
        return pretrained, "none"
    if lexicon == "auto":
        lexicon = "jieba" if level == "char" and language == "zh" else "none"
        reasons.append("lexicon: jieba's dictionary (SoftLexicon features)" if lexicon == "jieba" else "lexicon: none")
    return pretrained, lexicon


def _lexicon_settings_used(lexicon: str, model_settings: dict) -> dict:
    """A character model's settings with its lexicon's sizes as its network uses them: none without a lexicon
    (a settings file's ``lexicon_dim`` and ``--lexicon none`` given together), said where given."""
    given = [name for name in ("lexicon_dim", "lexicon_words") if model_settings.get(name)]
    if lexicon != "none" or not given:
        return model_settings
    flags = " and ".join("--" + name.replace("_", "-") for name in given)
    log.warning("%s not used: this run has no lexicon (--lexicon none, or --lexicon-dim 0)", flags)
    return {**model_settings, "lexicon_dim": 0, "lexicon_words": False}


def another_script(level: str, language: str, sentences: Sequence[Sentence]) -> str | None:
    """How ``sentences`` are in another script than a model of ``level`` and ``language`` read its corpus
    in (a script written without spaces, :data:`ner.text.LANGUAGE_SCRIPTS`, or those with spaces), or None."""
    text = corpus_text(sentences)
    if not text.strip():
        return None
    own, script = LANGUAGE_SCRIPTS.get(language.split("-")[0].lower()), unspaced_script(text)
    model = f"a {'character' if level == 'char' else 'word'} model ({language})"
    unspaced = unspaced_ratio(text)
    if own is None and level == "word" and unspaced > UNSPACED_CORPUS:  # one script or several (Thai and Chinese)
        return (f"{model}, on a corpus {unspaced:.0%} in a script written without spaces: it tags such text cut "
                "into characters or phrases, not into the corpus's words")  # fmt: skip
    if script == own:
        return None
    if script is None:  # the model's script is one without spaces
        spaced = 1 - unspaced
        return f"{model}, on a corpus {spaced:.0%} in scripts written with spaces" if spaced > UNSPACED_CORPUS else None
    return f"{model}, on a corpus mostly in the {script} script"


def corpus_text(sentences: Sequence[Sentence], sample: int = 2000) -> str:
    """The first ``sample`` sentences' tokens as text, one sentence a line: what the choices read."""
    return "\n".join(" ".join(s.tokens) for s in sentences[:sample])


def _choose_level(language: str, unspaced: float, inside: float, train: Sequence[Sentence]) -> tuple[str, str]:
    if language in CHARACTER_LANGUAGES:
        return "char", f"{language} is written without spaces between words: one token per character"
    if unspaced > UNSPACED_CORPUS:
        return "char", (
            f"{unspaced:.0%} of the characters are of scripts written without spaces between words "
            "(Thai, Lao, Khmer, Myanmar, Tibetan, CJK): one token per character"
        )
    if inside > INSIDE_WORD_ENTITIES:
        return "char", (
            f"{inside:.0%} of the entities start or end inside a word of the text, which a word model "
            "cannot tag: one token per character"
        )
    tokens = [token for sentence in train for token in sentence.tokens]
    share = sum(len(token) == 1 for token in tokens) / max(len(tokens), 1)
    if share >= CHARACTER_CORPUS:
        return "char", f"{share:.0%} of the corpus's tokens are single characters"
    return "word", "words"


def inside_word_entities(sentences: Sequence[Sentence], most: int = 3) -> tuple[int, int, list[str]]:
    """How many entities, among sentences with source offsets (JSONL, brat), start or end inside a token
    of the text as tagging cuts it (a Korean name and the particle written onto it: 서울|에서; Seoul|-based),
    of how many, and the first ``most`` of them as ``'Mer' in 'Merkel'``. Reading cut the token there;
    tagging cannot, so a word model would tag it whole or not at all."""
    inside = total = 0
    examples: list[str] = []
    for sentence in sentences:
        if sentence.offsets is None or not sentence.tokens:
            continue
        first = sentence.offsets[0][0]
        text = [" "] * (sentence.offsets[-1][1] - first)  # the source, with whatever lay between tokens a space
        for token, (start, end) in zip(sentence.tokens, sentence.offsets):
            text[start - first : end - first] = _fitted(token, end - start)
        source = "".join(text)
        words = tokenize(source)
        edges = {edge for word in words for edge in (word.start, word.end)}
        for span in sentence.spans():
            total += 1
            start, end = sentence.offsets[span.start][0] - first, sentence.offsets[span.end - 1][1] - first
            if {start, end} <= edges:
                continue
            inside += 1
            if len(examples) < most:
                cut = [word.text for word in words if word.start < end and word.end > start]
                examples.append(f"{source[start:end]!r} in {' '.join(cut)!r}")
    return inside, total, examples


def warn_of_entities_inside_words(inside: int, total: int, examples: Sequence[str]) -> None:
    """Say that a word model cannot tag the ``inside`` of ``total`` training entities that start or end
    inside a word (:func:`inside_word_entities`)."""
    if inside:
        log.warning(
            "%d of the %d training entities start or end inside a word of the text (%s), which a word model "
            "cannot tag: it reads whole words (widen them to whole words, or train characters: --level char)",
            inside,
            total,
            "; ".join(examples),
        )


def _fitted(token: str, length: int) -> str:
    """``token`` as long as the source it was read from: a token read shorter (its letters composed,
    invisible characters dropped) padded with a combining mark, which no tokenizer parts from it."""
    return (token + "\u0301" * length)[:length]


def _choose_vectors(language: str, level: str, word_dim: int, train: Sequence[Sentence]) -> tuple[str, str]:
    if level != "word":
        return "none", "a character-level model has no word embedding to fill"
    if word_dim != GLOVE_DIM:
        return "none", f"the word embedding has {word_dim} dimensions, GloVe {GLOVE_DIM}"
    if language != GLOVE_LANGUAGE:
        return "none", f"the only vectors available, GloVe 6B 50-d, are English; this corpus is {language}"
    try:
        coverage = glove_coverage(train)
    except RuntimeError as error:  # the vectors' package is not installed
        return "none", str(error)
    if coverage < GLOVE_MIN_COVERAGE:
        return "none", f"GloVe knows only {coverage:.0%} of the corpus's words (< {GLOVE_MIN_COVERAGE:.0%})"
    return GLOVE_PACKAGE, f"English; GloVe knows {coverage:.0%} of the corpus's words"


def has_documents(train: Sequence[Sentence]) -> bool:
    """Does the corpus come in documents of several sentences (CoNLL's ``-DOCSTART-``), many of them?"""
    sizes = Counter(s.document for s in train)
    return len(sizes) >= 20 and sum(n > 1 for n in sizes.values()) >= len(sizes) / 2


def _model_defaults(level: str, pretrained: str, lexicon: str, train: Sequence[Sentence]) -> dict:
    documents = has_documents(train)
    if level == "char":
        return {
            "word_dim": 100,
            "bigram_dim": 50,
            "lexicon_dim": 25 if lexicon != "none" else 0,
            "lexicon_words": lexicon != "none",
            "hidden": 200,
            "dropout": 0.5,
            "word_dropout": 0.05,
            "unknown_dropout": round(min(singleton_bigram_share([s.tokens for s in train]), MAX_UNKNOWN_DROPOUT), 2),
        }
    return {
        "word_dim": 50 if pretrained == GLOVE_PACKAGE else 100,
        "char_dim": 30,
        "char_hidden": 50,
        "hidden": 200,
        "dropout": 0.5,
        "word_dropout": 0.15,
        "document_memory": documents,
    }


def piece_length(level: str, max_length: int) -> int:
    """The longest piece of a training sentence (longer ones are cut: :func:`ner.corpus.split_long`): as
    ``--max-length`` says, else a word model's as tagging cuts, a character model's 250 characters."""
    return max_length or (TRAINING_CHARACTERS if level == "char" else MAX_WORDS)


def _pieces(train: Sequence[Sentence], level: str, longest: int) -> int:
    """How many pieces of at most ``longest`` tokens ``train`` is trained in (:func:`ner.corpus.split_long`):
    only a sentence of more characters than that may hold more tokens, and only those are cut here."""
    long = [sentence for sentence in train if sum(map(len, sentence.tokens)) > longest]
    return len(train) - len(long) + len(split_long(as_model_tokens(long, level == "char"), longest))


def _stretch(size: int) -> float:
    """How many times a corpus of ``size`` sentences stretches the 50 epochs (1: not at all)."""
    return max(round(min(SCHEDULE_SENTENCES / max(size, 1), MAX_STRETCH), 1), 1.0)


def _train_defaults(level: str, small: bool, stretch: float) -> dict:
    defaults = dataclasses.asdict(TrainConfig())
    defaults.update(
        epochs=round(defaults["epochs"] * stretch),
        patience=round(defaults["patience"] * stretch),
        lr_decay=round(defaults["lr_decay"] / stretch, 4),
        min_bigram_count=LARGE_CORPUS_BIGRAM_COUNT if level == "char" and not small else 1,
    )
    return defaults
