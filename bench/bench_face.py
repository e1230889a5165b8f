"""Face engine cost: model load, one match at upsample 0 vs 1, and a naive per-request baseline.

Run: ``.venv/bin/python -m bench.bench_face [--repeat N]``; prints one JSON document.

* ``model_load_s``: building a :class:`FaceEngine` (four dlib models) in a warm process.
* ``match_ms``: one login match as the service does it — the reference embedding is computed once and kept;
  per request the probe (a 640×480 JPEG frame) is decoded, detected, landmarked (5-point + 9 × 68-point fits)
  and embedded, then compared. Median and p90 over ``--repeat`` runs, at detector upsample 0 and 1.
* ``stages_ms``: the same request split into decode, detect, embed (5-point + ResNet) and the 68-point fits.
* ``liveness_8_frames_ms``: analysing 8 frames and running the liveness check.
* ``naive_per_request_ms``: the straightforward handler, with the models loaded once and the same upsample
  setting as the service, that analyses the stored reference photo again on every request (the service keeps
  the reference embedding) — measured in the same run. (An earlier baseline reloaded the four dlib models per
  request and used a different upsample, which inflated the speed-up.)
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

from exchange.face.engine import FaceConfig, FaceEngine
from exchange.face.images import decode_image
from exchange.face.liveness import Challenge, check_liveness
from testkit import faces


def _times_ms(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000.0)
    return out


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {"median": round(statistics.median(ordered), 1), "p90": round(p90, 1), "n": len(ordered)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--naive-repeat", type=int, default=4)
    args = parser.parse_args()

    loads = []
    for _ in range(2):
        engine = FaceEngine()
        loads.append(engine.load_seconds)

    reference = faces.reference_jpeg("hopper")
    probe = faces.to_jpeg(faces.frontal_frame("hopper"), 85)  # a 640×480 camera frame
    results: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "threads_used": 1},
        "model_load_s": {"runs": [round(s, 3) for s in loads], "min": round(min(loads), 3)},
        "image": {"probe": "640x480 JPEG q85, face ≈ 200 px", "reference": "512x600 JPEG q90"},
    }

    match_ms: dict[str, Any] = {}
    for upsample in (0, 1):
        eng = FaceEngine(FaceConfig(upsample=upsample))
        ref = eng.analyse(reference)
        eng.match(ref, probe)  # warm-up
        match_ms[f"upsample_{upsample}"] = _summary(
            _times_ms(functools.partial(eng.match, ref, probe), args.repeat)
        )
    results["match_ms"] = match_ms

    eng = FaceEngine()
    rgb = decode_image(probe)
    best = eng.detect(rgb)[0][0]
    dlib = eng._dlib  # bench looks inside on purpose
    rect = dlib.rectangle(best.left, best.top, best.right, best.bottom)
    results["stages_ms"] = {
        "decode_jpeg": _summary(_times_ms(lambda: decode_image(probe), args.repeat)),
        "detect_upsample_0": _summary(_times_ms(lambda: eng.detect(rgb, 0), args.repeat)),
        "detect_upsample_1": _summary(_times_ms(lambda: eng.detect(rgb, 1), args.repeat)),
        "embed_5pt_plus_resnet": _summary(
            _times_ms(lambda: eng._rec.compute_face_descriptor(rgb, eng._sp5(rgb, rect), 0), args.repeat)
        ),
        "landmarks68_9_fits": _summary(_times_ms(lambda: eng._landmarks68(rgb, best), args.repeat)),
    }

    frames = faces.head_turn_frames("hopper", "left")
    encoded = [faces.to_jpeg(f, 85) for f in frames]
    live = _times_ms(
        lambda: check_liveness(eng.analyse_frames(encoded), Challenge.TURN_LEFT), max(3, args.repeat // 5)
    )
    results["liveness_8_frames_ms"] = _summary(live)

    plain = FaceEngine(FaceConfig(upsample=FaceConfig().upsample))  # loaded once, the service's upsample

    def naive() -> None:
        plain.match(plain.analyse(reference), probe)

    naive()  # warm-up
    naive_ms = _times_ms(naive, args.naive_repeat)
    results["naive_per_request_ms"] = {
        "what": f"models loaded once; analyse reference + probe per request, upsample {FaceConfig().upsample}",
        **_summary(naive_ms),
    }
    tuned = results["match_ms"][f"upsample_{FaceConfig().upsample}"]["median"]
    results["speedup_naive_vs_tuned"] = round(statistics.median(naive_ms) / tuned, 1)
    results["note"] = "single process; dlib calls are serialised per engine, scale with worker processes"
    print(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
