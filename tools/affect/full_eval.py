# Full-PublicTest numbers for the model cards (same functions as the notebooks)
import json
from facelab.data import FER_LABELS, load_fer2013
from facelab.evaluation import throughput
from facelab.affect import expression as ex, emotion as em, mapping, sequences as sq, seqmodels
from facelab.affect.baselines import FerMiniXception
from facelab.affect.metrics import classification_metrics
out = {}
s = load_fer2013(); val = s["val"]; vx, vy = val.x, val.y
cnn = ex.load_model("affect_expression_cnn"); fer = FerMiniXception()
p = {"cnn": ex.predict_proba(cnn, vx), "cnn_tta": ex.predict_proba(cnn, vx, tta=True), "fer": fer.predict_proba(vx)}
for k, v in p.items():
    r = classification_metrics(vy, v.argmax(1), FER_LABELS); out[f"expr_{k}"] = {"accuracy": r["accuracy"], "macro_f1": r["macro_f1"], "recall": r["per_class_recall"]}
print(json.dumps({k: v["accuracy"] for k, v in out.items()}), flush=True)
out["precision"] = ex.inference_precision()  # every number here is computed in it
out["speed_cnn"] = throughput(lambda b: ex.predict_proba(cnn, b), vx[:2000])["items_per_s"]
out["speed_fer"] = throughput(fer.predict_proba, vx[:2000])["items_per_s"]
out["speed_cnn_float32"] = throughput(lambda b: ex.predict_proba(cnn, b, precision="float32"), vx[:2000])["items_per_s"]
out["speed_fer_float32"] = throughput(lambda b: fer.predict_proba(b, precision="float32"), vx[:2000])["items_per_s"]
out["expr_cnn_float32_accuracy"] = float((ex.predict_proba(cnn, vx, precision="float32").argmax(1) == vy).mean())
print("speed", out["precision"], out["speed_cnn"], out["speed_fer"], out["speed_cnn_float32"], out["speed_fer_float32"], flush=True)
emo = ex.load_model("affect_emotion_cnn")
yv, ya = mapping.expression_to_affect(vy)
aff = {"emotion_cnn": em.predict_affect(emo, vx), "emotion_cnn_tta": em.predict_affect(emo, vx, tta=True),
       "expr_cnn_mapped": mapping.proba_to_affect(p["cnn"]), "fer_mapped": mapping.proba_to_affect(p["fer"])}
for k, (pv, pa) in aff.items():
    out[f"affect_{k}"] = {"valence": float((pv.argmax(1) == yv).mean()), "arousal": float((pa.argmax(1) == ya).mean()),
                          "valence_macro_f1": classification_metrics(yv, pv.argmax(1), mapping.VALENCE_LABELS)["macro_f1"]}
print(json.dumps({k: v for k, v in out.items() if k.startswith("affect")}), flush=True)
trunk = ex.feature_extractor(cnn)
lstm = ex.load_model("affect_expression_lstm"); gru = ex.load_model("affect_emotion_gru")
out["seq"] = []
for i, lv in enumerate([0.0, 0.5, 1.0]):
    a = seqmodels.evaluate_sequences(sq.make_sequences(val, 300, "expression", lv, seed=142 + i), trunk, lstm, cnn, "expression")
    b = seqmodels.evaluate_sequences(sq.make_sequences(val, 300, "emotion", lv, seed=242 + i), trunk, gru, emo, "emotion")
    row = {"nuisance": lv, "lstm": a["seq_accuracy"], "avg_expr": a["avg_accuracy"], **{k: b[k] for k in ("seq_valence", "avg_valence", "seq_arousal", "avg_arousal")}}
    out["seq"].append(row); print(row, flush=True)
json.dump(out, open("runs/affect_full_eval.json", "w"), indent=1, default=float)
