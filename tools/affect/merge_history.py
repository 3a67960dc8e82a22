"""Merge the chain of expression-CNN runs into the shipped history JSON (runs: v1 -> cont -> cont2 -> cont3)."""
import json, sys
shipped = json.load(open("facelab/weights/affect_expression_cnn.history.json"))
v1 = shipped.pop("stage1")
cont = {k: shipped[k] for k in ("epochs", "lr", "train_seconds", "best_epoch", "publictest_accuracy", "init")}
cont["accuracy"], cont["val_accuracy"] = shipped["accuracy"][len(v1["accuracy"]):], shipped["val_accuracy"][len(v1["val_accuracy"]):]
v1.update(init=None, lr=0.002)
chain = [v1, cont]
for f in sys.argv[1:]:
    h = json.load(open(f))
    chain.append(h)
last = chain[-1]
out = dict(last)
out["accuracy"] = [a for r in chain for a in r["accuracy"]]
out["val_accuracy"] = [a for r in chain for a in r["val_accuracy"]]
out.pop("loss", None); out.pop("val_loss", None)
out["earlier_runs"] = [{k: r.get(k) for k in ("epochs", "lr", "init", "train_seconds", "best_epoch", "publictest_accuracy")}
                       for r in chain[:-1]]
out["total_train_seconds"] = sum(r["train_seconds"] for r in chain)
json.dump(out, open("facelab/weights/affect_expression_cnn.history.json", "w"), indent=1)
print("runs", len(chain), "epochs", len(out["accuracy"]), "total min", out["total_train_seconds"] / 60, "final", out["publictest_accuracy"])
