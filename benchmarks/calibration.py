"""Calibration of entity scores and the cost of scores and n-best, for the default English model.

- Expected calibration error (10 bins) of entity scores on CoNLL-2003 dev
  (eng.testa) and test (eng.testb), with the shipped temperature and at
  temperature 1, and a reliability diagram (``docs/reliability-diagram.png``).
- The same on the shipped Chinese models' test files (and ResumeNER's dev).
- Time to tag eng.testb without scores, with scores (the default) and with
  5-best, best of several passes, side by side; and the median latency of
  one 15-25 token text per call without and with scores.

    python -m benchmarks.calibration [--model models/en-conll03] [--json out.json]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from benchmarks import CONLL, ROOT, SHARED_DATA, report
from benchmarks.speed import interleaved_best
from ner import Tagger, TagOptions
from ner.calibration import entity_confidences, expected_calibration_error, reliability_diagram
from ner.corpus import read_conll, read_corpus


def run(model: Path, diagram: Path, threads: int) -> dict:
    torch.set_num_threads(threads)
    tagger = Tagger.load(model)
    dev = read_conll(CONLL / "eng.testa")[0]
    test = read_conll(CONLL / "eng.testb")[0]
    results: dict = {"model": str(model), "temperature": tagger.bundle.temperature}
    curves = {}
    for name, sentences in (("dev", dev), ("test", test)):
        for temperature, key in ((1.0, "T=1"), (tagger.bundle.temperature, "shipped")):
            scores, correct = entity_confidences(tagger, sentences, temperature)
            results[f"{name}_ece_{key}"] = round(expected_calibration_error(scores, correct), 4)
            results[f"{name}_entities"] = len(scores)
            results[f"{name}_mean_score_{key}"] = round(sum(scores) / len(scores), 4)
            results[f"{name}_accuracy"] = round(sum(correct) / len(correct), 4)
            if key == "shipped" or temperature == 1.0:
                curves[f"{name}, T={temperature:g}"] = (scores, correct)
    diagram.parent.mkdir(parents=True, exist_ok=True)
    reliability_diagram(curves, diagram)
    results["diagram"] = str(diagram.relative_to(ROOT)) if diagram.is_relative_to(ROOT) else str(diagram)
    results["chinese"] = chinese_calibration()

    texts = [" ".join(s.tokens) for s in test]
    tagger.tag_batch(texts[:200])
    seconds = interleaved_best(
        {
            "no_scores": lambda: tagger.analyze(texts, TagOptions(scores=False)),
            "scores": lambda: tagger.analyze(texts, TagOptions(scores=True)),
            "scores_and_5best": lambda: tagger.analyze(texts, TagOptions(scores=True, nbest=5)),
        },
        rounds=7,
    )
    results["cost"] = {
        "texts": len(texts),
        **{f"seconds_{name}": round(value, 3) for name, value in seconds.items()},
        "scores_slowdown_percent": round(100 * (seconds["scores"] / seconds["no_scores"] - 1), 1),
        "nbest5_slowdown_percent": round(100 * (seconds["scores_and_5best"] / seconds["no_scores"] - 1), 1),
    }
    # One text per call, as a single-text request to /tag: median latency without and with scores.
    single = [text for text in texts if 15 <= len(text.split()) <= 25]
    variants = {"plain": lambda text: tagger.tag(text, scores=False), "scored": tagger.tag}
    median_latencies(variants, single[:100])  # warm-up
    p50 = median_latencies(variants, single)
    results["cost"].update(
        single_text_p50_ms_no_scores=p50["plain"],
        single_text_p50_ms_scores=p50["scored"],
        single_text_scores_slowdown_percent=round(100 * (p50["scored"] / p50["plain"] - 1), 1),
    )
    return results


CHINESE = {
    "zh-msra": {"test": SHARED_DATA / "msra_ner" / "msra_test_bio"},
    "zh-resume": {split: SHARED_DATA / "resume_ner" / f"{split}.char.bmes" for split in ("dev", "test")},
}


def chinese_calibration() -> dict:
    """Expected calibration error of the shipped Chinese models' entity scores on their corpora's files, at
    temperature 1 and at the shipped one (MSRA's dev is held out of its training file, so test only)."""
    results = {}
    for name, files in CHINESE.items():
        tagger = Tagger.load(ROOT / "models" / name)
        results[name] = {"temperature": tagger.bundle.temperature}
        for split, path in files.items():
            sentences = read_corpus(path)[0]
            for temperature, key in ((1.0, "T=1"), (tagger.bundle.temperature, "shipped")):
                scores, correct = entity_confidences(tagger, sentences, temperature)
                results[name][f"{split}_ece_{key}"] = round(expected_calibration_error(scores, correct), 4)
                results[name][f"{split}_mean_score_{key}"] = round(sum(scores) / len(scores), 4)
            results[name][f"{split}_entities"] = len(scores)
            results[name][f"{split}_accuracy"] = round(sum(correct) / len(correct), 4)
    return results


def median_latencies(variants: dict[str, Callable[[str], object]], texts: list[str]) -> dict[str, float]:
    """Median milliseconds of one call per text for each variant, the variants taking turns text by text."""
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for text in texts:
        for name, tag in variants.items():
            start = time.perf_counter()
            tag(text)
            seconds[name].append(time.perf_counter() - start)
    return {name: round(1000 * statistics.median(values), 3) for name, values in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "en-conll03")
    parser.add_argument("--diagram", type=Path, default=ROOT / "docs" / "reliability-diagram.png")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    report(run(args.model, args.diagram, args.threads), args.json)


if __name__ == "__main__":
    main()
