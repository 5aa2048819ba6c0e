"""Our defaults against spaCy 3.8's default NER recipe, trained on the same splits.

A user with a new corpus runs ``ner train --train --dev --test --out`` and
nothing else, or spaCy's default recipe (``spacy init config -l LANG -p ner -o
efficiency``: tok2vec and a transition-based NER, no vectors). Both are
trained here with no other change, on
  - ResumeNER as distributed (train / dev / test), Chinese résumés;
  - MSRA-1500: 2,000 sentences of msra_train_bio drawn with ``random.Random(1)``,
    the first 1,500 for training and the other 500 as dev; test is msra_test_bio
    (Chinese news);
  - CoNLL-1500: the same draw from eng.train's sentences (English news, word
    level, documents not kept); test is eng.testb,
  - and, when asked for by ``--corpora``, smaller corpora drawn the same way:
    MSRA-750 and CoNLL-750 (750 for training, 250 as dev), MSRA-300 and
    CoNLL-300 (300 and 100), and MSRA-1500 in words (``msra1500w``: its train and
    dev sentences regrouped into jieba's words, cut again where an entity starts
    or ends, as a word-segmented Chinese corpus comes; test stays msra_test_bio,
    the text as a user sends it; ``msra1500w-word``: the same, ours trained with
    ``--level word``: a word model given the text of a script without spaces), and CoNLL-1500
    with each name's words joined by underscores (``conll1500u``: ``New_York``, as Vietnamese corpora
    write ``Hà_Nội``; test stays eng.testb, names written as text writes them), and MSRA-1500 with
    each character numbered by its position in its jieba word (``msra1500n``: 口0 腔1, as Weibo NER's
    ``weiboNER_2nd_conll`` files write them; test stays msra_test_bio),
with each seed of ``--seeds`` and one thread each. Each system's test predictions
become character spans of the tokens joined as the corpus writes them (Chinese
without spaces, English with one) that one scorer compares with the same gold
spans (strict: exact span and label). Reports every run's test and dev F1 and training time, and
the mean, spread and range over seeds per system and corpus.

Ours runs as ``ner train --train TRAIN --dev DEV --out DIR --threads 1 --seed S --quiet``, then
tags test once. spaCy runs from its own virtual environment
(``.cache/venv-spacy3``, made on first use) as ``spacy train CFG --system.seed S`` with its own
early stopping on dev.

    python -m benchmarks.defaults [--seeds 1,2,3] [--corpora resume,msra1500,conll1500,msra750,...]
                                  [--systems spacy,ours] [--quick] [--json out.json]

``--quick`` (a smoke test) trains one seed, spaCy for 200 steps and ours for 2 epochs.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks import ROOT, SHARED_DATA, report

OUT = ROOT / ".cache" / "bench" / "defaults"
SPACY_VENV = ROOT / ".cache" / "venv-spacy3"
SPACY_REQUIREMENT = "spacy>=3.8,<3.9"
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
SYSTEMS = ("spacy", "ours")


@dataclass(frozen=True)
class Sample:
    """A corpus cut from one file's sentences, drawn with ``random.Random(1)``, and the test file kept whole."""

    source: str  # the file sampled for train and dev
    test: str
    train_sentences: int
    dev_sentences: int


@dataclass(frozen=True)
class Corpus:
    """How a benchmark corpus is found, joined into text and named."""

    title: str
    folder: str  # under SHARED_DATA
    language: str  # spaCy's language code
    separator: str  # between tokens in the text both systems see
    sampled: Sample | None = None  # None: the corpus's own train, dev and test files
    in_words: bool = False  # the sample's train and dev regrouped into words (:func:`write_in_words`)
    joined: bool = False  # each entity's words in the sample's train and dev joined by underscores
    numbered: bool = False  # each character of the sample's train and dev followed by its position in its word
    flags: tuple[str, ...] = ()  # our training flags, to measure a setting against the defaults (spaCy unchanged)


MSRA, CONLL = ("msra_train_bio", "msra_test_bio"), ("eng.train", "eng.testb")
CORPORA = {
    "resume": Corpus("ResumeNER", "resume_ner", "zh", ""),
    "msra1500": Corpus("MSRA-1500", "msra_ner", "zh", "", Sample(*MSRA, 1500, 500)),
    "conll1500": Corpus("CoNLL-1500", "conll2003_en", "en", " ", Sample(*CONLL, 1500, 500)),
    "msra750": Corpus("MSRA-750", "msra_ner", "zh", "", Sample(*MSRA, 750, 250)),
    "conll750": Corpus("CoNLL-750", "conll2003_en", "en", " ", Sample(*CONLL, 750, 250)),
    "msra300": Corpus("MSRA-300", "msra_ner", "zh", "", Sample(*MSRA, 300, 100)),
    "conll300": Corpus("CoNLL-300", "conll2003_en", "en", " ", Sample(*CONLL, 300, 100)),
    "msra1500w": Corpus("MSRA-1500 in words", "msra_ner", "zh", "", Sample(*MSRA, 1500, 500), in_words=True),
    "msra1500w-word": Corpus(
        "MSRA-1500 in words, ours at the word level",
        *("msra_ner", "zh", "", Sample(*MSRA, 1500, 500)),
        in_words=True,
        flags=("--level", "word"),
    ),
    "msra1500n": Corpus(
        "MSRA-1500, characters numbered in their words", "msra_ner", "zh", "", Sample(*MSRA, 1500, 500), numbered=True
    ),
    "conll1500u": Corpus(
        "CoNLL-1500, names joined by underscores", "conll2003_en", "en", " ", Sample(*CONLL, 1500, 500), joined=True
    ),
}
DEFAULT_CORPORA = ("resume", "msra1500", "conll1500")
QUICK_SPACY_STEPS, QUICK_EPOCHS = 200, 2

# Run by spaCy's interpreter. "prepare CFG NAME IN.jsonl OUT.spacy ...": DocBins made with the config's
# tokenizer, counting gold spans that fall off its token boundaries; "predict MODEL IN.json OUT.json":
# the predicted entities of each text as character spans.
SPACY_HELPER = """
import json, sys
import spacy
from spacy.tokens import DocBin

mode = sys.argv[1]
if mode == "prepare":
    config = spacy.util.load_config(sys.argv[2], interpolate=True)
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    embed = config["components"]["tok2vec"]["model"]["embed"]
    result = {"config": {
        "spacy": spacy.__version__,
        "pipeline": config["nlp"]["pipeline"],
        "tokenizer": config["nlp"]["tokenizer"],
        "embed_attrs": embed["attrs"],
        "include_static_vectors": embed["include_static_vectors"],
        "vectors": config["paths"]["vectors"],
        "training": {k: config["training"][k] for k in ("max_steps", "max_epochs", "patience", "eval_frequency")},
    }, "splits": {}}
    arguments = sys.argv[3:]
    for name, source, target in zip(arguments[0::3], arguments[1::3], arguments[2::3]):
        docs = DocBin()
        entities = misaligned = token_per_char = 0
        examples = []
        for line in open(source, encoding="utf-8"):
            record = json.loads(line)
            doc = nlp.make_doc(record["text"])
            token_per_char += len(doc) == len(record["text"])
            spans = []
            for start, end, label in record["entities"]:
                entities += 1
                span = doc.char_span(start, end, label=label)
                if span is None:
                    misaligned += 1
                    examples.append(record["text"][max(0, start - 5):end + 5])
                else:
                    spans.append(span)
            doc.ents = spans
            docs.add(doc)
        docs.to_disk(target)
        result["splits"][name] = {"docs": len(docs), "docs_one_token_per_char": token_per_char,
                                  "entities": entities, "misaligned": misaligned, "misaligned_examples": examples[:5]}
    print(json.dumps(result))
else:
    nlp = spacy.load(sys.argv[2])
    texts = json.load(open(sys.argv[3], encoding="utf-8"))
    spans = [[[e.start_char, e.end_char, e.label_] for e in doc.ents] for doc in nlp.pipe(texts, batch_size=64)]
    json.dump(spans, open(sys.argv[4], "w", encoding="utf-8"))
"""

CharSpan = tuple[int, int, str]


def write_sample(source: Path, folder: Path, train_sentences: int, dev_sentences: int) -> None:
    """Write a sampled corpus's train and dev files (the source's lines, sentence by sentence) into ``folder``;
    ``-DOCSTART-`` lines are left out, so every sentence is a document of its own."""
    blocks, lines = [], []
    for line in source.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("-DOCSTART-"):
            lines.append(line)
        elif lines:
            blocks.append(lines)
            lines = []
    if lines:
        blocks.append(lines)
    sample = random.Random(1).sample(blocks, train_sentences + dev_sentences)
    folder.mkdir(parents=True, exist_ok=True)
    for name, part in (("train.bio", sample[:train_sentences]), ("dev.bio", sample[train_sentences:])):
        (folder / name).write_text("\n\n".join("\n".join(block) for block in part) + "\n", encoding="utf-8")


def write_in_words(path: Path) -> None:
    """Rewrite a Chinese CoNLL file of characters as one of words: jieba's words, cut again where an
    entity starts or ends, so that every entity is whole words (IOB2 tags over the words)."""
    import jieba

    from ner.corpus import Span, read_conll, spans_to_tags

    jieba.setLogLevel(60)
    lines = []
    for sentence in read_conll(path)[0]:
        text = "".join(sentence.tokens)
        cuts = {0, *itertools.accumulate(len(word) for word in jieba.cut(text))}
        for span in sentence.spans():
            cuts.update((span.start, span.end))
        bounds = sorted(cuts)
        word_at = {start: index for index, start in enumerate(bounds)}  # a word starting (or ending) there
        spans = [Span(word_at[s.start], word_at[s.end], s.label) for s in sentence.spans()]
        tags = spans_to_tags(spans, len(bounds) - 1, "IOB2")
        lines += [f"{text[a:b]} {tag}" for a, b, tag in zip(bounds, bounds[1:], tags)] + [""]
    path.write_text("\n".join(lines), encoding="utf-8")


def write_joined(path: Path) -> None:
    """Rewrite a CoNLL file with each entity's words joined by underscores into one token (IOB2 tags)."""
    from ner.corpus import Span, read_conll, spans_to_tags

    lines = []
    for sentence in read_conll(path)[0]:
        spans = {span.start: span for span in sentence.spans()}
        tokens, joined_spans, index = [], [], 0
        while index < len(sentence.tokens):
            span = spans.get(index)
            end = span.end if span else index + 1
            if span:
                joined_spans.append(Span(len(tokens), len(tokens) + 1, span.label))
            tokens.append("_".join(sentence.tokens[index:end]))
            index = end
        tags = spans_to_tags(joined_spans, len(tokens), "IOB2")
        lines += [f"{token} {tag}" for token, tag in zip(tokens, tags)] + [""]
    path.write_text("\n".join(lines), encoding="utf-8")


def write_numbered(path: Path) -> None:
    """Rewrite a Chinese CoNLL file of characters with each character followed by its position in its
    jieba word (口0 腔1 溃2 疡3), as Weibo NER's ``weiboNER_2nd_conll`` files are written."""
    import jieba

    from ner.corpus import read_conll, spans_to_tags

    jieba.setLogLevel(60)
    lines = []
    for sentence in read_conll(path)[0]:
        positions = [index for word in jieba.cut("".join(sentence.tokens)) for index in range(len(word))]
        tags = spans_to_tags(sentence.spans(), len(sentence.tokens), "IOB2")
        lines += [f"{c}{p}\t{t}" for c, p, t in zip(sentence.tokens, positions, tags)] + [""]
    path.write_text("\n".join(lines), encoding="utf-8")


def splits(corpus: str) -> dict[str, Path]:
    """The train, dev and test files of a corpus (a sample's train and dev written on first use)."""
    data = SHARED_DATA / CORPORA[corpus].folder
    sample = CORPORA[corpus].sampled
    if sample is None:
        return {split: data / f"{split}.char.bmes" for split in ("train", "dev", "test")}
    folder = OUT / corpus
    if not (folder / "dev.bio").is_file():
        write_sample(data / sample.source, folder, sample.train_sentences, sample.dev_sentences)
        for name in ("train.bio", "dev.bio"):
            if CORPORA[corpus].in_words:
                write_in_words(folder / name)
            if CORPORA[corpus].joined:
                write_joined(folder / name)
            if CORPORA[corpus].numbered:
                write_numbered(folder / name)
    return {"train": folder / "train.bio", "dev": folder / "dev.bio", "test": data / sample.test}


@dataclass
class Gold:
    """One CoNLL file read as our trainer reads it: tokens, BIOES tags, joined texts, character spans."""

    tokens: list[list[str]]
    tags: list[list[str]]
    texts: list[str]
    spans: list[list[CharSpan]]


def read_gold(path: Path, separator: str) -> Gold:
    """A CoNLL file's sentences with our reader, the same gold for both systems."""
    from ner.corpus import read_conll

    sentences, _ = read_conll(path)
    return Gold(
        [s.tokens for s in sentences],
        [s.tags for s in sentences],
        [separator.join(s.tokens) for s in sentences],
        [
            char_spans(s.tokens, [(span.start, span.end, span.label) for span in s.spans()], separator)
            for s in sentences
        ],
    )


def char_spans(tokens: Sequence[str], token_spans: Sequence[CharSpan], separator: str) -> list[CharSpan]:
    """Token spans ``[start, end)`` as character spans of the tokens joined by ``separator``."""
    starts = [0]
    for token in tokens:
        starts.append(starts[-1] + len(token) + len(separator))
    return [(starts[start], starts[end] - len(separator), label) for start, end, label in token_spans]


def strict_scores(gold: Sequence[Sequence[CharSpan]], predicted: Sequence[Sequence[CharSpan]]) -> dict:
    """Entity precision, recall and F1 in percent, overall and per type: a hit is an exact span and label."""
    counts: dict[str, list[int]] = {}  # label: [hits, predicted, gold]
    for gold_spans, predicted_spans in zip(gold, predicted, strict=True):
        gold_set, predicted_set = set(gold_spans), {tuple(s) for s in predicted_spans}
        for index, spans in ((1, predicted_set), (2, gold_set)):
            for *_, label in spans:
                counts.setdefault(label, [0, 0, 0])[index] += 1
        for *_, label in gold_set & predicted_set:
            counts[label][0] += 1

    def prf(hits: int, guessed: int, truth: int) -> dict:
        p, r = hits / guessed if guessed else 0.0, hits / truth if truth else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return {"precision": round(100 * p, 2), "recall": round(100 * r, 2), "f1": round(100 * f, 2)}

    total = [sum(c[i] for c in counts.values()) for i in range(3)]
    return {**prf(*total), "per_type_f1": {label: prf(*c)["f1"] for label, c in sorted(counts.items())}}


def thread_env() -> dict[str, str]:
    """This process's environment with one thread for OpenMP and the BLAS libraries."""
    return {**os.environ, **ONE_THREAD}


def spacy_python() -> Path:
    """The interpreter of spaCy's virtual environment, made on first use."""
    python = SPACY_VENV / "bin" / "python"
    probe = [str(python), "-c", "import spacy, sys; sys.exit(not spacy.__version__.startswith('3.8.'))"]
    if not (python.exists() and subprocess.run(probe, capture_output=True).returncode == 0):
        print("setting up spaCy 3.8 in", SPACY_VENV, file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(SPACY_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", SPACY_REQUIREMENT], check=True)
    return python


def spacy_prepare(python: Path, corpus: str, gold: dict[str, Gold]) -> tuple[Path, dict]:
    """spaCy's default NER config for the corpus's language and DocBins of train and dev: the config's path
    and a report of the config and of how the gold spans aligned with its tokens."""
    folder = OUT / corpus / "spacy"
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.cfg"
    language = CORPORA[corpus].language
    init = [str(python), "-m", "spacy", "init", "config", "-l", language, "-p", "ner", "-o", "efficiency", "-F"]
    subprocess.run([*init, str(config)], check=True, capture_output=True, env=thread_env())
    arguments = []
    for split in ("train", "dev"):
        records = [{"text": t, "entities": s} for t, s in zip(gold[split].texts, gold[split].spans)]
        source = folder / f"{split}.jsonl"
        source.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        arguments += [split, str(source), str(folder / f"{split}.spacy")]
    done = subprocess.run(
        [str(python), "-c", SPACY_HELPER, "prepare", str(config), *arguments],
        check=True,
        capture_output=True,
        text=True,
        env=thread_env(),
    )
    prepared = json.loads(done.stdout.strip().splitlines()[-1])
    if prepared["config"]["include_static_vectors"] or prepared["config"]["vectors"]:
        sys.exit(f"{config} uses vectors; this benchmark compares recipes without them")
    return config, prepared


def spacy_run(python: Path, config: Path, corpus: str, seed: int, quick: bool, test: Gold) -> dict:
    """Train spaCy's recipe with one seed: test predictions as character spans, dev F1 (spaCy's scorer), time."""
    folder = OUT / corpus / "spacy"
    out = OUT / corpus / f"spacy-seed{seed}{'-quick' if quick else ''}"
    shutil.rmtree(out, ignore_errors=True)
    command = [
        *(str(python), "-m", "spacy", "train", str(config), "--output", str(out)),
        *("--paths.train", str(folder / "train.spacy"), "--paths.dev", str(folder / "dev.spacy")),
        *("--system.seed", str(seed)),
        *(("--training.max_steps", str(QUICK_SPACY_STEPS)) if quick else ()),
    ]
    started = time.perf_counter()
    trained = subprocess.run(command, capture_output=True, text=True, env=thread_env())
    seconds = time.perf_counter() - started
    out.mkdir(parents=True, exist_ok=True)
    (out / "train.log").write_text(trained.stdout + trained.stderr, encoding="utf-8")
    if trained.returncode != 0:
        sys.exit(f"spacy train failed (log in {out / 'train.log'}):\n{trained.stderr[-3000:]}")
    rows = re.findall(r"^\s*(\d+)\s+(\d+)\s", trained.stdout, flags=re.MULTILINE)
    meta = json.loads((out / "model-best" / "meta.json").read_text(encoding="utf-8"))
    texts, predicted = folder / "test_texts.json", out / "test_predicted.json"
    texts.write_text(json.dumps(test.texts, ensure_ascii=False), encoding="utf-8")
    subprocess.run(
        [str(python), "-c", SPACY_HELPER, "predict", str(out / "model-best"), str(texts), str(predicted)],
        check=True,
        env=thread_env(),
    )
    return {
        "seed": seed,
        "command": " ".join(["spacy", *command[3:]]),
        "dev_f1": round(100 * meta["performance"]["ents_f"], 2),
        "train_seconds": round(seconds, 1),
        "last_epoch_step": [int(x) for x in rows[-1]] if rows else None,
        "predicted": json.loads(predicted.read_text(encoding="utf-8")),
    }


def ours_run(corpus: str, files: dict[str, Path], seed: int, quick: bool, test: Gold) -> dict:
    """Train our defaults with one seed: test predictions as character spans, dev F1, seqeval's test F1, time."""
    from ner.metrics import entity_scores
    from ner.tagger import Tagger

    out = OUT / corpus / f"ours-seed{seed}{'-quick' if quick else ''}"
    for folder in (out, out.with_name(out.name + ".training")):
        shutil.rmtree(folder, ignore_errors=True)
    command = [
        *("ner", "train", "--train", str(files["train"]), "--dev", str(files["dev"])),
        *("--out", str(out), "--threads", "1", "--seed", str(seed), "--quiet"),
        *(("--epochs", str(QUICK_EPOCHS)) if quick else ()),
        *CORPORA[corpus].flags,
    ]
    started = time.perf_counter()
    trained = subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, env=thread_env()
    )
    seconds = time.perf_counter() - started
    log = out.with_name(out.name + ".log")
    log.write_text(trained.stdout + trained.stderr, encoding="utf-8")
    if trained.returncode != 0:
        sys.exit(f"ner train failed (log in {log}):\n{trained.stderr[-3000:]}")
    summary = json.loads(trained.stdout.strip().splitlines()[-1])
    predictions = Tagger.load(out, threads=1).predict(test.tokens)
    return {
        "seed": seed,
        "command": " ".join(command),
        "dev_f1": summary.get("dev_f1"),
        "best_epoch": summary["best_epoch"],
        "train_seconds": round(seconds, 1),
        "test_f1_seqeval": entity_scores(test.tags, [p.tags for p in predictions])["f1"],
        "predicted": [
            char_spans(tokens, [(s.start, s.end, s.label) for s in p.spans], CORPORA[corpus].separator)
            for tokens, p in zip(test.tokens, predictions)
        ],
    }


def spread(values: list[float]) -> dict:
    """Mean, sample standard deviation, minimum and maximum over seeds."""
    return {
        "mean": round(statistics.mean(values), 2),
        "sd": round(statistics.stdev(values), 2) if len(values) > 1 else 0.0,
        "min": min(values),
        "max": max(values),
    }


def run_corpus(
    python: Path | None, corpus: str, seeds: list[int], quick: bool, systems: Sequence[str] = SYSTEMS
) -> tuple[dict, dict | None]:
    """Each of ``systems`` with every seed on one corpus, scored alike on its test split; and spaCy's config."""
    files = splits(corpus)
    gold = {split: read_gold(path, CORPORA[corpus].separator) for split, path in files.items()}
    config, prepared = spacy_prepare(python, corpus, gold) if python is not None else (None, None)
    test = gold["test"]
    runs: dict[str, list[dict]] = {system: [] for system in systems}
    for seed in seeds:
        for system in systems:
            print(f"-- {corpus}: {system}, seed {seed}", file=sys.stderr, flush=True)
            if system == "spacy":
                result = spacy_run(python, config, corpus, seed, quick, test)
            else:
                result = ours_run(corpus, files, seed, quick, test)
            result["test"] = strict_scores(test.spans, result.pop("predicted"))
            if system == "ours" and abs(result["test"]["f1"] - result["test_f1_seqeval"]) > 0.01:
                print(
                    f"warning: our scorer {result['test']['f1']}, seqeval {result['test_f1_seqeval']}", file=sys.stderr
                )
            runs[system].append(result)
    summary = {
        system: {
            "test_f1": spread([r["test"]["f1"] for r in results]),
            "dev_f1": spread([r["dev_f1"] for r in results]),
            "train_seconds": spread([r["train_seconds"] for r in results]),
        }
        for system, results in runs.items()
    }
    out = {
        "splits": {split: {"path": str(path), "sentences": len(gold[split].texts)} for split, path in files.items()},
        "runs": runs,
        "summary": summary,
    }
    if prepared is None:
        return out, None
    out["spacy_config_file"] = str(config)
    out["spacy_alignment"] = prepared["splits"]
    if "ours" in runs:
        out["ours_ahead"] = summary["ours"]["test_f1"]["mean"] > summary["spacy"]["test_f1"]["mean"]
        out["ours_ahead_every_seed"] = all(
            o["test"]["f1"] > s["test"]["f1"] for o, s in zip(runs["ours"], runs["spacy"])
        )
    return out, prepared["config"]


def markdown(results: dict) -> str:
    """One row per corpus and system, then who is ahead and how the gold spans aligned."""
    spacy = results.get("spacy_config")
    labels = {"spacy": f"spaCy {spacy['spacy'] if spacy else ''} default NER", "ours": "ours, defaults"}
    systems = {system: labels[system] for system in results["systems"]}
    rows = [
        "| corpus | system | test F1 mean (sd) | min–max | test F1 per seed | dev F1 per seed | training s per seed |",
        "|---|---|---|---|---|---|---|",
    ]
    notes = []
    for corpus, data in results["corpora"].items():
        for system, label in systems.items():
            runs, summary = data["runs"][system], data["summary"][system]["test_f1"]
            per_seed = ", ".join(f"{r['test']['f1']}" for r in runs)
            dev = ", ".join(f"{r['dev_f1']}" for r in runs)
            seconds = ", ".join(f"{r['train_seconds']:.0f}" for r in runs)
            rows.append(
                f"| {CORPORA[corpus].title} | {label} | {summary['mean']} ({summary['sd']}) "
                f"| {summary['min']}–{summary['max']} | {per_seed} | {dev} | {seconds} |"
            )
        if "ours_ahead" in data:
            alignment = data["spacy_alignment"].items()
            misaligned = ", ".join(f"{s} {a['misaligned']} of {a['entities']}" for s, a in alignment)
            notes.append(
                f"- {CORPORA[corpus].title}: ours ahead on the mean: {data['ours_ahead']}, on every seed: "
                f"{data['ours_ahead_every_seed']}; gold spans off spaCy's tokens: {misaligned}"
            )
    quick = " (--quick: a smoke test, not a result)" if results["quick"] else ""
    return "\n".join([*rows, "", f"Seeds {results['seeds']}, one thread each{quick}.", *notes])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated seeds, each run by every system")
    parser.add_argument("--corpora", default=",".join(DEFAULT_CORPORA), help=f"comma-separated: {', '.join(CORPORA)}")
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated: spacy, ours")
    parser.add_argument("--quick", action="store_true", help="smoke test: the first seed, few steps and epochs")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    corpora = args.corpora.split(",")
    if unknown := set(corpora) - set(CORPORA):
        parser.error(f"unknown corpora {sorted(unknown)}; choose from {', '.join(CORPORA)}")
    systems = args.systems.split(",")
    if unknown := set(systems) - set(SYSTEMS):
        parser.error(f"unknown systems {sorted(unknown)}; choose from {', '.join(SYSTEMS)}")
    seeds = [int(s) for s in args.seeds.split(",")][: 1 if args.quick else None]
    if missing := [
        str(SHARED_DATA / CORPORA[c].folder) for c in corpora if not (SHARED_DATA / CORPORA[c].folder).is_dir()
    ]:
        print(f"skipped: the corpora are not here ({', '.join(missing)})", file=sys.stderr)
        return
    python = spacy_python() if "spacy" in systems else None
    started = time.perf_counter()
    results: dict = {"seeds": seeds, "systems": systems, "quick": args.quick, "threads": 1, "corpora": {}}
    for corpus in corpora:
        results["corpora"][corpus], spacy_config = run_corpus(python, corpus, seeds, args.quick, systems)
        if spacy_config is not None:
            results["spacy_config"] = spacy_config
    results["benchmark_seconds"] = round(time.perf_counter() - started, 1)
    report(results, args.json, markdown(results))


if __name__ == "__main__":
    main()
