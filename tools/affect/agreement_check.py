"""PublicTest accuracy of two or more expression CNNs, one pass and mirror-averaged, how often their answers agree,
and the accuracy of the averaged probabilities of every pair and larger team; added to an experiment record in docs/experiments/.

Run from the repository root: python tools/affect/agreement_check.py RECORD.json NAME=WEIGHTS.keras NAME=WEIGHTS.keras ...
"""
import itertools
import json
import sys

from sklearn.metrics import accuracy_score

from facelab.affect import expression as ex
from facelab.data import load_fer2013

if __name__ == "__main__":
    record_path, pairs = sys.argv[1], [a.split("=", 1) for a in sys.argv[2:]]
    val = load_fer2013()["val"]

    def acc(proba):
        return float(accuracy_score(val.y, proba.argmax(1)))

    probs, nets = {}, {}
    for name, path in pairs:
        model = ex.load_model(path)
        probs[name] = ex.predict_proba(model, val.x)
        nets[name] = {"weights": path, "accuracy": acc(probs[name]),
                      "accuracy_mirror_averaged": acc(ex.predict_proba(model, val.x, tta=True))}
    both = [{"nets": [a, b], "agreement": float((probs[a].argmax(1) == probs[b].argmax(1)).mean()),
             "accuracy_probabilities_averaged": acc((probs[a] + probs[b]) / 2)}
            for a, b in itertools.combinations(probs, 2)]
    # every larger team too: how far averaging more nets of this size goes (each adds a pass at inference)
    teams = [{"nets": list(team), "accuracy_probabilities_averaged": acc(sum(probs[n] for n in team) / len(team))}
             for r in range(3, len(probs) + 1) for team in itertools.combinations(probs, r)]
    record = json.load(open(record_path))
    record["publictest_checks"] = {"written_by": "tools/affect/agreement_check.py", "faces": int(len(val.y)),
                                   "nets": nets, "pairs": both, "teams": teams}
    json.dump(record, open(record_path, "w"), indent=1)
    print(json.dumps(record["publictest_checks"], indent=1))
