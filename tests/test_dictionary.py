"""Users' dictionaries: matching longest first, constraints on the CRF checked against brute force."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from ner import Tagger, TagOptions, crf
from ner.dictionary import Dictionary, DictionaryError, check_labels, read_tsv

TAGS = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]


def split(phrase: str) -> list[str]:
    return phrase.split()


def test_matches_longest_first_left_to_right_without_overlap() -> None:
    dictionary = Dictionary({"New York": "LOC", "New York Times": "ORG", "York": "PER", "Times Square": "LOC"}, split)
    tokens = ["the", "New", "York", "Times", "Square", "and", "York"]
    assert dictionary.matches(tokens) == [(1, 4, "ORG"), (6, 7, "PER")]


@pytest.mark.parametrize("seed", range(20))
def test_a_dictionary_laid_over_another_matches_as_their_merged_entries(seed: int) -> None:
    """Oracle: the request's entries over a file's match as the one mapping ``{**file, **request}`` does
    (a file's phrase that is a request's under ``ignore_case`` left out of it)."""
    rng = np.random.default_rng(seed)
    words = ["a", "b", "c", "A"]

    def phrases(count: int) -> dict[str, str]:
        lengths = rng.integers(1, 4, size=count)
        return {" ".join(rng.choice(words, size=n)): str(rng.choice(["PER", "LOC", "O"])) for n in lengths}

    for ignore_case in (False, True):
        file, request = phrases(6), phrases(3)
        laid = Dictionary(request, split, ignore_case, over=Dictionary(file, split, ignore_case))
        fold = str.casefold if ignore_case else str
        under = {phrase: label for phrase, label in file.items() if fold(phrase) not in set(map(fold, request))}
        merged = Dictionary({**under, **request}, split, ignore_case)  # a request's phrase wins in any case
        for _ in range(20):
            tokens = list(rng.choice(words, size=int(rng.integers(0, 12))))
            assert laid.matches(tokens) == merged.matches(tokens), (file, request, tokens)


def test_of_two_layers_a_phrase_as_written_wins_then_the_upper_one() -> None:
    def pointed(phrase: str) -> list[list[str]]:  # "Corp" may come as "Corp." in text
        return [[*phrase.split()[:-1], phrase.split()[-1] + "."]]

    file = Dictionary({"Acme Corp.": "LOC", "Initech Inc": "LOC"}, split, other_cuts=pointed)
    request = Dictionary({"Acme Corp": "ORG", "Initech Inc": "ORG"}, split, other_cuts=pointed, over=file)
    assert request.matches(["Acme", "Corp."]) == [(0, 2, "LOC")]  # the file's as written, the request's cut
    assert request.matches(["Initech", "Inc"]) == [(0, 2, "ORG")]
    with pytest.raises(ValueError, match="ignores case"):
        Dictionary({}, split, ignore_case=True, over=file)


def test_case_is_kept_unless_ignored() -> None:
    assert Dictionary({"Paris": "LOC"}, split).matches(["paris"]) == []
    assert Dictionary({"Paris": "LOC"}, split, ignore_case=True).matches(["PARIS"]) == [(0, 1, "LOC")]
    # Case folded, not just lowered: STRASSE is Straße, İstanbul is istanbul.
    folded = Dictionary({"Straße": "LOC", "istanbul": "LOC"}, split, ignore_case=True)
    assert folded.matches(["STRASSE", "İstanbul"]) == [(0, 1, "LOC"), (1, 2, "LOC")]
    # Turkish: the capital of ı is I, whose lowercase is i: IĞDIR is Iğdır, YILMAZ is Yılmaz
    turkish = Dictionary({"Iğdır": "LOC", "Yılmaz": "PER"}, split, ignore_case=True)
    assert turkish.matches(["IĞDIR", "YILMAZ", "ığdır"]) == [(0, 1, "LOC"), (1, 2, "PER"), (2, 3, "LOC")]
    assert Dictionary({"Straße": "LOC"}, split).matches(["STRASSE"]) == []


def test_a_character_that_folds_into_several_matches_them_in_characters() -> None:
    """Under a character model ß is one token and SS two: folded, each reads as the other, checked against
    a brute-force reading (the longest span, left to right, whose characters fold to the phrase's)."""
    chars = list
    rng = np.random.default_rng(0)
    alphabet = ["s", "S", "ß", "ẞ", "t", "ﬁ", "f", "i", "I"]
    for _ in range(300):
        phrase = "".join(rng.choice(alphabet, rng.integers(1, 4)))
        text = [str(c) for c in rng.choice(alphabet, rng.integers(0, 12))]
        expected, start = [], 0
        while start < len(text):
            ends = [
                e for e in range(start + 1, len(text) + 1) if "".join(text[start:e]).casefold() == phrase.casefold()
            ]
            if ends:
                expected.append((start, ends[-1], "LOC"))
            start = ends[-1] if ends else start + 1
        folded = Dictionary({phrase: "LOC"}, chars, ignore_case=True, characters=True)
        assert folded.matches(text) == expected, (phrase, text)
    # an accent typed apart is the accented letter, folded or not (ǰ folds to j and a caron)
    for phrase, text in (("j\u030c", "\u01f0"), ("\u01f0", "j\u030c"), ("\u03b9\u0308\u0301", "\u0390")):
        assert Dictionary({phrase: "LOC"}, chars, ignore_case=True, characters=True).matches([text]) == [(0, 1, "LOC")]
    # a word model's one-letter word is a word: ß is the word SS, and no two words' letters
    words = Dictionary({"ß": "LOC", "S S": "ORG"}, str.split, ignore_case=True)
    assert words.matches(["SS", "ß", "S", "S"]) == [(0, 1, "LOC"), (1, 2, "LOC"), (2, 4, "ORG")]
    # a phrase never starts or ends inside a word written with spaces, spelt out or not
    folded = Dictionary({"strasse": "LOC"}, chars, ignore_case=True, characters=True)
    assert folded.matches(list("我Straßenbahn"), [False] * 13) == [(1, 7, "LOC")]
    assert folded.matches(list("我Straßenbahn"), [False, False, *[True] * 11]) == []


def test_an_accent_typed_apart_is_the_accented_letter() -> None:
    assert Dictionary({"Zorbláx": "PER"}, split).matches(["Zorbla\u0301x"]) == [(0, 1, "PER")]
    assert Dictionary({"Zorbla\u0301x": "PER"}, split).matches(["Zorbláx"]) == [(0, 1, "PER")]


def test_invisible_characters_on_either_side_do_not_stop_a_match() -> None:
    """Text copied from web pages has soft hyphens and zero-width spaces inside words; the model reads the
    words without them, and so does the dictionary."""
    dictionary = Dictionary({"Micro\u00adsoft": "ORG", "New York": "LOC"}, split, ignore_case=True)
    assert dictionary.matches(["at", "Micro\u200bsoft", "in", "new", "\ufeffYork"]) == [(1, 2, "ORG"), (3, 5, "LOC")]
    assert dictionary.matches(["Microsoft"]) == [(0, 1, "ORG")]


def test_phrases_read_alike_with_other_labels_are_named_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    folded = Dictionary({"Masse": "PER", "Maße": "LOC", "Acme": "ORG", "ACME": "ORG"}, split, ignore_case=True)
    assert folded.clashes == [("Masse", "Maße")] and folded.matches(["MASSE"]) == [(0, 1, "LOC")]
    assert "1 phrases read as an earlier one (case ignored) with another label" in caplog.text
    assert Dictionary({"Masse": "PER", "Maße": "LOC"}, split).clashes == []  # told apart with case kept
    caplog.clear()
    assert read_tsv("Acme\tORG\nBerlin\tLOC\nAcme\tPER\nBerlin\tLOC\n") == {"Acme": "PER", "Berlin": "LOC"}
    assert "line 3: 'Acme' again with another label, PER (ORG on line 1): the later wins" in caplog.text
    assert "Berlin" not in caplog.text  # the same line twice is no conflict
    caplog.clear()  # a request's phrases and labels are quoted, escaped and cut short: no line of their own
    forged = 'X\n{"event": "request", "status": 200}\x1b[2J'
    Dictionary({"Acme Corp": "ORG", "Acme  Corp": forged}, split)
    (line,) = caplog.text.splitlines()
    assert "\x1b" not in line and repr(forged)[:40] in line
    assert len(line) < 400


def test_a_dictionary_of_a_label_the_model_lacks_is_refused_before_it_is_built(
    tiny_model: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Built first, it logged its clashes each time it was sent, and was refused only then."""
    tagger = Tagger.load(tiny_model)
    caplog.clear()
    for _ in range(2):
        with pytest.raises(DictionaryError, match="GPE"):
            tagger.dictionary({"Acme Corp": "ORG", "Acme  Corp": "GPE"})
    assert caplog.text == ""


def test_a_dictionary_over_its_trie_nodes_stops_building_there() -> None:
    from ner.dictionary import DictionaryTooLarge

    assert Dictionary({"a b c": "ORG", "a b d": "PER"}, split, max_nodes=4).nodes == 4  # a, a b, a b c, a b d
    with pytest.raises(DictionaryTooLarge, match="over 3 trie nodes"):
        Dictionary({"a b c": "ORG", "a b d": "PER", **{f"x{i}": "ORG" for i in range(10**6)}}, split, max_nodes=3)


def test_a_dictionary_refused_as_too_large_is_not_built_again(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ner.tagger
    from ner.dictionary import DictionaryTooLarge

    tagger = Tagger.load(tiny_model)
    built = []
    real = ner.tagger.Dictionary
    monkeypatch.setattr(ner.tagger, "Dictionary", lambda *a, **k: built.append(1) or real(*a, **k))
    large = {f"Name{i} Corp": "ORG" for i in range(20)}
    for _ in range(3):
        with pytest.raises(DictionaryTooLarge, match="for model tiny-en, .* over 10 trie nodes"):
            tagger.dictionary(large, max_nodes=10)
    assert len(built) == 1
    assert tagger.dictionary(large, max_nodes=1000).nodes > 10 and len(built) == 2  # another limit: built


def test_unknown_labels_and_empty_phrases_are_named() -> None:
    with pytest.raises(DictionaryError, match="GPE"):
        check_labels({"Paris": "GPE"}, ["LOC", "PER"])
    with pytest.raises(DictionaryError, match="no tokens"):
        Dictionary({"   ": "LOC"}, split)


def test_tsv_lines() -> None:
    assert read_tsv("# terms\nNew York\tLOC\n\nAcme Corp\tORG\n") == {"New York": "LOC", "Acme Corp": "ORG"}
    with pytest.raises(DictionaryError, match="line 2"):
        read_tsv("a\tLOC\nno label here\n")
    # A byte-order mark before a comment; an entry commented out; a hashtag written with its escape.
    assert read_tsv("\ufeff# my terms\r\n\\#MeToo\tMISC\r\n#Acme Corp\tCOMPANY\n#note\nC#\tMISC\n") == {
        "#MeToo": "MISC",
        "C#": "MISC",
    }
    assert read_tsv("\\#\tMISC\n") == {"#": "MISC"} and read_tsv("\\x\tMISC\n") == {"\\x": "MISC"}
    # A long field is an entry like any other (the csv module refused one of 131,073 with its own error).
    assert read_tsv("x" * 1_000 + "\tORG\n") == {"x" * 1_000: "ORG"}


def brute_force(emissions: np.ndarray, scores: tuple, allowed: np.ndarray) -> list[tuple[float, tuple[int, ...]]]:
    """Every path of one sentence that BIOES and ``allowed (T, K)`` permit, with its score, best first."""
    start, moves, end = scores
    steps, k = emissions.shape
    out = []
    for path in itertools.product(range(k), repeat=steps):
        if not all(allowed[t, tag] for t, tag in enumerate(path)):
            continue
        score = start[path[0]] + emissions[0, path[0]] + end[path[-1]]
        score += sum(moves[a, b] + emissions[t + 1, b] for t, (a, b) in enumerate(zip(path, path[1:])))
        if score > crf.FORBIDDEN / 2:  # a path through a forbidden BIOES move is no path
            out.append((float(score), path))
    return sorted(out, reverse=True)


@pytest.mark.parametrize("seed", range(4))
def test_constrained_decoding_equals_the_best_allowed_path(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k, steps = len(TAGS), 5
    emissions = rng.standard_normal((1, steps, k)) * 3
    allowed_start, allowed_moves, allowed_end = crf.bioes_constraints(TAGS)
    scores = tuple(
        rng.standard_normal(shape) + np.where(ok, 0.0, crf.FORBIDDEN)
        for shape, ok in (((k,), allowed_start), ((k, k), allowed_moves), ((k,), allowed_end))
    )
    dictionary = Dictionary({"b c": "LOC", "e": "O"}, split)
    allowed = dictionary.allowed([["a", "b", "c", "d", "e"]], steps, TAGS)
    assert allowed is not None
    constrained = crf.constrain(emissions, allowed)
    mask = np.ones((1, steps), dtype=bool)
    expected = brute_force(emissions[0], scores, allowed[0])
    paths, best = crf.viterbi(constrained, mask, *scores)
    assert tuple(paths[0]) == expected[0][1] and best[0] == pytest.approx(expected[0][0])
    assert [TAGS[t] for t in paths[0][1:3]] == ["B-LOC", "E-LOC"] and TAGS[paths[0][4]] == "O"
    # Probabilities under the constraints: each path's share of the allowed paths' mass.
    _, _, log_z = crf.forward_backward(constrained, mask, *scores)
    total = math.log(sum(math.exp(s - expected[0][0]) for s, _ in expected)) + expected[0][0]
    assert log_z[0] == pytest.approx(total, abs=1e-6)
    top, top_scores = crf.nbest(constrained, mask, *scores, 3)
    assert [tuple(p) for p in top[0]] == [p for _, p in expected[:3]]
    assert top_scores[0] == pytest.approx([s for s, _ in expected[:3]])


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("She met Yahoo! Japan staff.", "Yahoo! Japan"),  # the sentence splitter ends a sentence after "!"
        ("word " * 148 + "New York City Hall" + " word" * 20, "New York City Hall"),  # cut at 150 tokens
        ("He played in the 2. Bundesliga last year.", "2. Bundesliga"),  # alone, "2." is a list item's number
        ("2. Bundesliga\n1. FC Köln", "1. FC Köln"),  # ... and at the start of a line, it is one
    ],
)
def test_a_phrase_is_forced_whole_wherever_the_text_would_be_cut(tiny_model: Path, text: str, phrase: str) -> None:
    tagger = Tagger.load(tiny_model)
    (analysis,) = tagger.analyze([text], TagOptions(dictionary=tagger.dictionary({phrase: "ORG"})))
    assert (phrase, "ORG") in {(e.text, e.label) for e in analysis.entities}


@pytest.mark.parametrize("order", [1, -1])
def test_a_phrase_as_written_wins_over_another_phrase_cut_with_a_point(tiny_model: Path, order: int) -> None:
    tagger = Tagger.load(tiny_model)
    entries = dict(list({"Acme Corp.": "LOC", "Acme Corp": "ORG", ".": "PER"}.items())[::order])
    (analysis,) = tagger.analyze(
        ["She joined Acme Corp. Wait.. what"], TagOptions(dictionary=tagger.dictionary(entries))
    )
    found = {(e.text, e.label) for e in analysis.entities}
    assert ("Acme Corp.", "LOC") in found and not any(text == ".." for text, _ in found)


@pytest.mark.parametrize(
    ("text", "phrase", "entity"),
    [
        ("She joined Acme Corp.", "Acme Corp", "Acme Corp."),  # "Corp." is one token: the match takes its point
        ("Acme Corp, the maker", "Acme Corp.", "Acme Corp"),  # a phrase with the point matches without it
        # a phrase in lower case is cut as text in one case cuts it ("inc."), and as text of mixed case does
        ("Bob met acme inc. today.", "acme inc.", "acme inc."),
        ("bob met acme inc. today", "acme inc.", "acme inc."),
        ("BOB MET ACME INC. TODAY", "ACME INC.", "ACME INC."),
        ("Bob met ACME INC. today.", "ACME INC.", "ACME INC."),
        # ... and where the point makes its last letter an initial before the next sentence (no match before)
        ("We chose Plan A. Then we left.", "Plan A", "Plan A."),
        ("we chose plan a. then we left.", "plan a", "plan a."),
    ],
)
def test_a_phrase_matches_whether_or_not_a_point_joins_its_last_word(
    tiny_model: Path, text: str, phrase: str, entity: str
) -> None:
    tagger = Tagger.load(tiny_model)
    (analysis,) = tagger.analyze([text], TagOptions(dictionary=tagger.dictionary({phrase: "ORG"})))
    assert (entity, "ORG") in {(e.text, e.label) for e in analysis.entities}


def test_a_phrase_never_runs_across_a_paragraph_break(tiny_model: Path) -> None:
    tagger = Tagger.load(tiny_model)
    options = TagOptions(dictionary=tagger.dictionary({"Yahoo! Japan": "ORG"}))
    (analysis,) = tagger.analyze(["I like Yahoo!\n\nJapan is big."], options)
    assert all("\n" not in e.text for e in analysis.entities)


def test_a_phrase_runs_across_a_quotes_marks_but_never_from_one_cell_into_the_next(tiny_model: Path) -> None:
    """> before the next quoted line counted as text between a phrase's words; a tab between cells did not."""
    tagger = Tagger.load(tiny_model)
    options = TagOptions(dictionary=tagger.dictionary({"Deutsche Bank": "ORG"}))
    texts = [
        "> Chairman Deutsche\n> Bank said on Monday it would cut jobs.",
        "Deutsche\tBank\tFrankfurt",
        "Deutsche | Bank",
    ]
    quoted, tab, pipe = tagger.analyze(texts, options)
    assert ("Deutsche\n> Bank", "ORG") in {(e.text, e.label) for e in quoted.entities}
    assert not any("Deutsche" in e.text and "Bank" in e.text for e in [*tab.entities, *pipe.entities])


def test_forced_and_blocked_phrases_in_the_tagger(tiny_model: Path) -> None:
    tagger = Tagger.load(tiny_model)
    text = "John Smith visited Berlin with Acme Corp staff"
    plain = {(e.text, e.label) for e in tagger.tag(text)}
    assert ("Berlin", "LOC") in plain
    dictionary = tagger.dictionary({"Berlin": "O", "Acme Corp staff": "ORG", "visited": "PER"})
    (analysis,) = tagger.analyze([text], TagOptions(dictionary=dictionary, nbest=3))
    found = {(e.text, e.label) for e in analysis.entities}
    assert ("Acme Corp staff", "ORG") in found and ("visited", "PER") in found
    assert not any(e.text == "Berlin" for e in analysis.entities)
    assert all(e.score == pytest.approx(1.0) for e in analysis.entities if e.text in ("Acme Corp staff", "visited"))
    for alternative in analysis.alternatives:
        assert ("Acme Corp staff", "ORG") in {(e.text, e.label) for e in alternative.entities}
    assert tagger.dictionary({"Berlin": "O", "Acme Corp staff": "ORG", "visited": "PER"}) is dictionary  # cached
    relabelled = tagger.dictionary({"Berlin": "O", "Acme Corp staff": "ORG", "visited": "LOC"})
    assert relabelled is not dictionary and relabelled.entries["visited"] == "LOC"
    with pytest.raises(DictionaryError, match="MISC"):
        tagger.dictionary({"Berlin": "MISC"})


def test_dictionaries_kept_built_are_bounded_in_bytes(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A model keeps the dictionaries it built up to a budget of their memory (trie nodes and entries), the
    oldest going first, and always the latest, even one larger than the whole budget; a pinned one is kept
    apart."""
    import ner.tagger

    monkeypatch.setattr(ner.tagger, "DICTIONARY_CACHE_BYTES", 5_500)
    tagger = Tagger.load(tiny_model)
    assert Dictionary({"a b c": "ORG", "a b d": "PER"}, str.split).nodes == 4  # a, a b, a b c, a b d
    small = [
        {f"Acme {i} Corp": "ORG"} for i in range(4)
    ]  # 4 nodes (one for the cut of Corp.) and one entry each: 1.3 KB
    built = [tagger.dictionary(entries) for entries in small]
    assert all(tagger.dictionary(entries) is dictionary for entries, dictionary in zip(small, built))
    assert tagger._dictionaries.size == sum(d.held_bytes for d in built) <= 5_500
    more = [tagger.dictionary({f"Globex {i} Inc": "ORG"}) for i in range(3)]
    assert tagger._dictionaries.size <= 5_500 and tagger.dictionary({"Globex 2 Inc": "ORG"}) is more[-1]
    assert tagger.dictionary(small[0]) is not built[0]  # the oldest went first
    configured = tagger.dictionary({" ".join(["Initech"] * 30): "ORG"}, key="file", pin=True)
    huge = {" ".join(["Acme"] * 30): "ORG"}
    assert tagger.dictionary(huge).held_bytes > 5_500 and tagger.dictionary(huge) is tagger.dictionary(huge)
    assert tagger._dictionaries.size == tagger.dictionary(huge).held_bytes  # the latest, alone: the others went
    assert tagger.dictionary({}, key="file", pin=True) is configured and tagger.built_dictionary("file")
    kept = tagger.dictionary({"Hooli": "ORG"}, key="kept")  # one kept built, then pinned: kept apart from now on
    assert tagger.dictionary({}, key="kept", pin=True) is kept and list(tagger._pinned) == ["file", "kept"]
    assert tagger.dictionary({}, key="file", pin=True) is configured  # two kept pinned: with and without ignore_case
    tagger.dictionary({"Hooli": "ORG"}, key="third", pin=True)
    assert list(tagger._pinned) == ["file", "third"]  # the least recently used went
    assert "kept" not in tagger._dictionaries and tagger.dictionary({"Hooli": "ORG"}, key="kept") is not kept


def test_a_character_model_cuts_a_long_given_sentence_outside_latin_words(tiny_zh_model: Path) -> None:
    """As raw text is cut (ner.text.split_sentences): the corpus's characters tell where a Latin word runs."""
    from ner.text import characters_join

    tagger = Tagger.load(tiny_zh_model, max_sentence_tokens=10)
    tokens = list("微软公司的Microsoft系统")
    assert characters_join(tokens) == [False] * 6 + [True] * 8 + [False] * 2
    assert tagger._uncut(tokens, None, None) == set(range(6, 14))
    assert tagger._uncut(tokens[:10], None, None) == set()  # within the limit: nothing to cut


def test_a_character_model_keeps_entities_to_the_edges_of_latin_words(tiny_zh_model: Path) -> None:
    """No entity starts or ends inside a word written with spaces (``Microsoft``, ``1998``): the word's
    characters may not open an entity after its first, nor close one before its last."""
    tagger = Tagger.load(tiny_zh_model)
    opens = [t[0] in "BS" for t in tagger.tags]
    closes = [t[0] in "ES" for t in tagger.tags]
    allowed = tagger._word_edges([[False, False, False, True, True, False, False]], 8)  # 我在 AI x 工作 (+ after)
    assert allowed is not None and allowed.shape == (1, 8, len(tagger.tags))
    for position in range(8):
        assert list(allowed[0, position]) == [
            not ((position in (3, 4) and opening) or (position in (2, 3) and closing))
            for opening, closing in zip(opens, closes)
        ], position
    assert tagger._word_edges([[False, False, False]], 3) is None  # no such word: no constraint
    cut = tagger._word_edges([[True, True, False, False]], 3)  # a piece that starts inside a word: no entity opens
    assert cut is not None and not cut[0, :2, opens].any() and not cut[0, 0, closes].any()
    from ner.text import tokenize_chars, word_joins

    texts = [
        "李明在Microsoft和Google工作。",
        "王芳1998年在IBM任职，后去了ＯｐｅｎＡＩ。",
        "Linux由Linus Torvalds开发。",
    ]
    for text, analysis in zip(texts, tagger.analyze(texts, TagOptions(nbest=3))):
        tokens = tokenize_chars(text)
        inside = [t.start for t, joined in zip(tokens, word_joins(tokens)) if joined]  # neither start nor end here
        for entity in [*analysis.entities, *(e for a in analysis.alternatives for e in a.entities)]:
            assert entity.start not in inside and entity.end not in inside, (text, entity)


def test_a_model_spells_folded_characters_out_only_when_it_reads_characters(
    tiny_model: Path, tiny_zh_model: Path
) -> None:
    label = sorted(Tagger.load(tiny_zh_model).labels)[0]
    characters = Tagger.load(tiny_zh_model).dictionary({"straße": label}, ignore_case=True)
    assert characters.matches(list("住STRASSE")) == [(1, 8, label)]
    words = Tagger.load(tiny_model).dictionary({"SS": "ORG"}, ignore_case=True)
    assert words.matches(["the", "ß", "unit"]) == [(1, 2, "ORG")]


def test_a_dictionary_counts_the_memory_of_its_entries_not_only_its_trie() -> None:
    """8,192 phrases that read alike made a trie of 14 nodes and held 15 MB, counted as 14."""
    from ner.dictionary import NODE_BYTES, entries_bytes

    alike = {"Acme" + " " * i + "Corp \U0001f600" * 20: "ORG" for i in range(1, 200)}
    dictionary = Dictionary(alike, str.split)
    assert dictionary.nodes == 22 and len(alike) == 199  # the same 22 tokens, whatever the spaces
    held = sum(len(phrase) * 4 for phrase in alike)  # a character beyond the BMP: 4 bytes each, all of them
    assert dictionary.held_bytes == dictionary.nodes * NODE_BYTES + entries_bytes(alike) > held


def test_entries_keys_are_equal_exactly_when_the_entries_and_their_order_are() -> None:
    from ner.dictionary import EntriesKey

    entries = {"Acme Corp": "ORG", "Berlin": "O"}
    same = EntriesKey(dict(entries))
    assert EntriesKey(entries) == same and hash(EntriesKey(entries)) == hash(same)
    assert EntriesKey({"Acme Corp": "ORG", "Berlin": "LOC"}) != same
    assert EntriesKey({"Acme Corp": "ORG"}) != same
    assert EntriesKey({"Berlin": "O", "Acme Corp": "ORG"}) != same  # another order: only a cache miss
    # Phrases that would run together if the entries were simply concatenated.
    assert EntriesKey({"a": "ORG", "b": "ORG"}) != EntriesKey({"ab": "ORG"})
    assert EntriesKey({'a", "b': "ORG"}) != EntriesKey({"a": "ORG", "b": "ORG"})
    large = {f"Company number {i}": "ORG" for i in range(10_000)}  # a key holds a digest, not the entries
    assert len(EntriesKey(large)) > 250_000 and EntriesKey(large).__slots__ == ("_digest", "_hash", "_size")
    assert len(EntriesKey(large)._digest) == 32


def test_entries_keys_hold_lone_surrogates_which_json_bytes_cannot() -> None:
    from ner.dictionary import EntriesKey

    odd = {"Acme\ud800": "ORG", "Berlin": "LOC"}
    assert EntriesKey(odd) == EntriesKey(dict(odd))
    assert EntriesKey(odd) != EntriesKey({"Acme\udfff": "ORG", "Berlin": "LOC"})
    assert EntriesKey(odd) != EntriesKey({"Acme": "ORG", "Berlin": "LOC"})
    # a request's entries are keyed before they are checked: any JSON value is no error here
    assert EntriesKey({"a": ["\ud800"], "\ud800": {"x": 1}}) == EntriesKey({"a": ["\ud800"], "\ud800": {"x": 1}})


def test_a_dictionary_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    from ner.dictionary import DictionaryFile

    path = tmp_path / "terms.tsv"
    path.write_text("Acme\tORG\n")
    terms = DictionaryFile(path, recheck_s=0)
    assert terms.entries() == {"Acme": "ORG"}
    path.write_text("Acme\tORG\nZurich\tLOC\n")
    assert terms.entries() == {"Acme": "ORG", "Zurich": "LOC"}
    path.write_text("broken line without a tab\n")
    assert terms.entries() == {"Acme": "ORG", "Zurich": "LOC"}  # the last good entries stay
    with pytest.raises(DictionaryError, match="line 1"):
        DictionaryFile(path)
    path.write_text("Acme\tORG\n")
    checked = DictionaryFile(path, recheck_s=0, labels=["ORG", "LOC"])
    for bad in ("Acme\tCOMPANY\n", "\u200b\tORG\n"):  # a label the model lacks, a phrase that shows nothing
        path.write_text(bad)
        assert checked.entries() == {"Acme": "ORG"}
        with pytest.raises(DictionaryError, match="COMPANY|line 1"):
            DictionaryFile(path, labels=["ORG", "LOC"])


def test_a_failed_reading_is_logged_once_and_not_read_again_until_the_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A broken file was parsed and logged at every check (once a second per worker, for ever); a file being
    written in place is read only once it has stayed as it is for ``recheck_s``."""
    import os

    from ner import dictionary as module
    from ner.dictionary import DictionaryFile

    path = tmp_path / "terms.tsv"
    path.write_text("Acme\tORG\n")
    terms = DictionaryFile(path, recheck_s=0)
    readings = []
    load_tsv = module.load_tsv

    def counted(p: Path) -> dict[str, str]:
        readings.append(p)
        return load_tsv(p)

    monkeypatch.setattr(module, "load_tsv", counted)
    path.write_text("Acme\tORG\nBerlin\tLOC\tx\n")
    for _ in range(5):
        assert terms.entries() == {"Acme": "ORG"}
    assert len(readings) == 1 and caplog.text.count("not reloaded") == 1 and str(path) in caplog.text
    path.unlink()
    for _ in range(3):
        assert terms.entries() == {"Acme": "ORG"}
    assert caplog.text.count("not reloaded") == 2 and "No such file" in caplog.text
    path.write_text("Acme\tORG\nBerlin\tLOC\n")
    assert terms.entries() == {"Acme": "ORG", "Berlin": "LOC"} and len(readings) == 2
    # A file that could not be read (no file handles left, its permissions) is tried again at each check.
    path.write_text("Acme\tORG\nBerlin\tORG\n")
    monkeypatch.setattr(
        module, "load_tsv", lambda p: readings.append(p) or (_ for _ in ()).throw(OSError(24, "Too many open files"))
    )
    assert terms.entries() == terms.entries() == {"Acme": "ORG", "Berlin": "LOC"} and len(readings) == 4
    assert caplog.text.count("not reloaded") == 3 and "Too many open files" in caplog.text
    monkeypatch.setattr(module, "load_tsv", counted)
    assert terms.entries() == {"Acme": "ORG", "Berlin": "ORG"} and len(readings) == 5
    # Renamed over by a file of the same size and modification time (cp -p, rsync -t): read all the same.
    other = tmp_path / "other.tsv"
    other.write_text("Acme\tPER\nBerlin\tORG\n")
    status = path.stat()
    os.utime(other, ns=(status.st_atime_ns, status.st_mtime_ns))
    other.replace(path)
    assert terms.entries() == {"Acme": "PER", "Berlin": "ORG"}

    waiting = DictionaryFile(path, recheck_s=60)
    waiting._checked = -math.inf  # a check due
    path.write_text("Acme\tORG\n")  # changed just now: perhaps still being written
    assert waiting.entries() == {"Acme": "PER", "Berlin": "ORG"}
    waiting._checked = -math.inf
    assert waiting.entries() == {"Acme": "ORG"}  # the same at the next check: read
    path.write_text("Paris\tLOC\n")
    os.utime(path, ns=(0, 0))  # changed long ago (as a file renamed over it): read at the first check
    waiting._checked = -math.inf
    assert waiting.entries() == {"Paris": "LOC"}


def test_a_file_s_labels_are_a_list_not_one_string(tmp_path: Path) -> None:
    from ner.dictionary import DictionaryFile

    path = tmp_path / "terms.tsv"
    path.write_text("Acme\tORG\n")
    with pytest.raises(TypeError, match="not one string"):
        DictionaryFile(path, labels="ORG")  # read as the labels O, R and G
    assert DictionaryFile(path, labels={"ORG"}).entries() == {"Acme": "ORG"}


def test_a_file_is_checked_in_a_thread_while_callers_go_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from ner import dictionary as module
    from ner.dictionary import DictionaryFile

    path = tmp_path / "terms.tsv"
    path.write_text("Acme\tORG\n")
    terms = DictionaryFile(path, recheck_s=0)
    reading, release = threading.Event(), threading.Event()

    def slow(p: Path) -> dict[str, str]:
        reading.set()
        release.wait(10)
        return module.read_tsv(p.read_text())

    monkeypatch.setattr(module, "load_tsv", slow)
    path.write_text("Acme\tORG\nBerlin\tLOC\n")
    terms.check_soon()
    assert reading.wait(10)
    terms.check_soon()  # one reading at a time: this one returns at once
    assert terms.entries() == {"Acme": "ORG"} and terms.version == 1  # the last reading, while one runs
    release.set()
    for _ in range(100):
        if terms.version == 2:
            break
        threading.Event().wait(0.05)
    assert terms.latest == (2, {"Acme": "ORG", "Berlin": "LOC"})


def test_a_phrase_given_twice_is_warned_of_with_its_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from ner.dictionary import load_tsv

    path = tmp_path / "terms.tsv"
    path.write_text("Acme\tORG\nAcme\tPER\n")
    assert load_tsv(path) == {"Acme": "PER"}
    assert f"{path}: line 2: 'Acme' again with another label, PER (ORG on line 1): the later wins" in caplog.text


def test_a_character_models_phrase_starts_and_ends_on_a_words_edges(tiny_zh_model: Path) -> None:
    """Under a character model, Latin text comes in characters: ``AI`` must not match inside ``OpenAI``,
    nor ``Li`` in ``Linux``, while a phrase of Chinese characters matches inside a run of them as before."""
    tagger = Tagger.load(tiny_zh_model)
    label = sorted(tagger.labels)[0]
    dictionary = tagger.dictionary({"AI": label, "Li": label, "北京": label, "Linux 2": label})
    text = "我在OpenAI和北京大学用Linux系统，AI很强，Linux 2也是。"
    (analysis,) = tagger.analyze([text], TagOptions(dictionary=dictionary))
    found = {(e.start, e.text) for e in analysis.entities if e.label == label}
    assert {(text.index("北京"), "北京"), (text.index("Linux 2"), "Linux 2"), (text.rindex("AI"), "AI")} <= found
    assert not any(start in (text.index("AI"), text.index("Li")) for start, _ in found)


def test_full_width_letters_and_digits_match_their_ascii_forms(tiny_zh_model: Path) -> None:
    """Chinese input methods type ＡＢＣ公司 as often as ABC公司: a phrase matched one and not the other."""
    tagger = Tagger.load(tiny_zh_model)
    label = sorted(tagger.labels)[0]
    text = "张伟在ＡＢＣ公司工作，也在ABC公司。ＩＰＨＯＮＥ１５很贵。"
    for entries, ignore_case in (({"ABC公司": label}, False), ({"ＡＢＣ公司": label, "iphone15": label}, True)):
        (analysis,) = tagger.analyze([text], TagOptions(dictionary=tagger.dictionary(entries, ignore_case)))
        found = {e.text for e in analysis.entities if e.label == label}
        assert {"ＡＢＣ公司", "ABC公司"} <= found and (not ignore_case or "ＩＰＨＯＮＥ１５" in found), found


def test_a_dictionary_with_no_entries_of_its_own_over_another_is_used_as_one(tiny_zh_model: Path) -> None:
    """Under lang auto a request's entries cut to a model's labels may leave none: the file's phrases
    below still keep to word edges."""
    assert Dictionary({}, split, over=Dictionary({"a": "PER"}, split)) and not Dictionary({}, split)
    tagger = Tagger.load(tiny_zh_model)
    label = sorted(tagger.labels)[0]
    over = tagger.dictionary({}, over=tagger.dictionary({"AI": label}, key="file", pin=True))
    text = "我在OpenAI工作，AI很强。"
    (analysis,) = tagger.analyze([text], TagOptions(dictionary=over))
    assert [(e.start, e.text) for e in analysis.entities if e.label == label] == [(text.rindex("AI"), "AI")]


def test_word_edges_hold_where_a_sentence_or_piece_is_cut_inside_a_word(tiny_zh_model: Path) -> None:
    tagger = Tagger.load(tiny_zh_model, max_sentence_tokens=10)
    label = sorted(tagger.labels)[0]
    dictionary = tagger.dictionary({"Li": label, "nux": label})
    word = "Li" + "x" * 8 + "nux"  # longer than the limit: the splitter must cut it (Lixxxxxxxx | nux)
    text = word + "很好。"
    assert "".join(t.text for t in tagger.read(text).sentences[0]) == word[:10]
    (analysis,) = tagger.analyze([text], TagOptions(dictionary=dictionary))
    assert not [e for e in analysis.entities if e.label == label]
    # a sentence given whole, longer than the limit, is cut into pieces there too
    from ner.text import tokenize_chars, word_joins

    tokens = tokenize_chars(word)
    (prediction,) = tagger.predict(
        [[t.text for t in tokens]], TagOptions(dictionary=dictionary), joins=[[*word_joins(tokens), False]]
    )
    assert prediction.spans == [] or all(span.label != label for span in prediction.spans)


def test_dictionaries_over_a_file_read_again_are_forgotten_with_it(tiny_model: Path) -> None:
    """A file read again pins its new dictionary; those kept over the old one would keep it alive unseen."""
    tagger = Tagger.load(tiny_model)
    first = tagger.dictionary({"Acme": "ORG"}, key=("file", 1), pin=True)
    tagger.dictionary({"Berlin": "LOC"}, key="request", over=first)
    assert "request" in tagger._dictionaries
    for version in (2, 3):  # two more readings: the first is no longer pinned
        tagger.dictionary({"Acme": "ORG"}, key=("file", version), pin=True)
    assert "request" not in tagger._dictionaries and tagger._dictionaries.size == 0
    # one built over the first reading while those two were pinned (a request in flight) is not kept either
    tagger.dictionary({"Paris": "LOC"}, key="late", over=first)
    assert first.superseded and "late" not in tagger._dictionaries


def test_joins_without_the_flag_after_the_tokens_end_a_phrase_there() -> None:
    dictionary = Dictionary({"L i": "ORG"}, split)
    assert dictionary.matches(["L", "i"], [False, True]) == [(0, 2, "ORG")]  # one flag per token only
    assert dictionary.matches(["L", "i"], [False, True, True]) == []  # the word goes on after them


def test_a_phrase_longer_than_any_name_is_refused_with_its_line() -> None:
    """A 10 MB phrase in a dictionary file took 2.4 GB and ended ner tag with a MemoryError."""
    read_tsv("a" * 1_000 + "\tLOC\n")
    with pytest.raises(DictionaryError, match=r"line 2: a phrase of 1,001 characters \(at most 1,000\)"):
        read_tsv("John\tPER\n" + "a" * 1_001 + "\tLOC\n")
