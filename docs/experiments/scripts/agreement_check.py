"""PublicTest accuracy of two or more expression CNNs, one pass and mirror-averaged, how often their answers agree,
and the accuracy of the averaged probabilities of every pair and larger team; added to an experiment record in
docs/experiments/ (its ``publictest_checks``).

    python docs/experiments/scripts/agreement_check.py RECORD.json NAME=WEIGHTS NAME=WEIGHTS ...

WEIGHTS: a .keras file, or the stem of a shipped one (``affect_expression_cnn``). Runs from any folder (the paths
are taken as given); FER2013 is found as everywhere in facelab (``$FACELAB_DATA``, see ``facelab.config``).
"""
from __future__ import annotations

import argparse
import itertools
import json


def net_pair(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=WEIGHTS, not {text!r}")
    return name, path


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("record", help="experiment record (JSON) to add publictest_checks to")
    p.add_argument("nets", nargs="+", type=net_pair, metavar="NAME=WEIGHTS", help="two or more expression CNNs")
    args = p.parse_args(argv)

    from sklearn.metrics import accuracy_score

    from facelab.affect.expression import predict_proba
    from facelab.data import load_fer2013
    from facelab.models.weights import load_keras

    val = load_fer2013()["val"]

    def acc(proba):
        return float(accuracy_score(val.y, proba.argmax(1)))

    probs, nets = {}, {}
    for name, path in args.nets:
        model = load_keras(path)
        probs[name] = predict_proba(model, val.x)
        nets[name] = {"weights": path, "accuracy": acc(probs[name]),
                      "accuracy_mirror_averaged": acc(predict_proba(model, val.x, tta=True))}
    both = [{"nets": [a, b], "agreement": float((probs[a].argmax(1) == probs[b].argmax(1)).mean()),
             "accuracy_probabilities_averaged": acc((probs[a] + probs[b]) / 2)}
            for a, b in itertools.combinations(probs, 2)]
    # every larger team too: how far averaging more nets of this size goes (each adds a pass at inference)
    teams = [{"nets": list(team), "accuracy_probabilities_averaged": acc(sum(probs[n] for n in team) / len(team))}
             for r in range(3, len(probs) + 1) for team in itertools.combinations(probs, r)]
    with open(args.record) as f:
        record = json.load(f)
    record["publictest_checks"] = {"written_by": "docs/experiments/scripts/agreement_check.py", "faces": int(len(val.y)),
                                   "nets": nets, "pairs": both, "teams": teams}
    with open(args.record, "w") as f:
        json.dump(record, f, indent=1)
    print(json.dumps(record["publictest_checks"], indent=1))


if __name__ == "__main__":
    main()
