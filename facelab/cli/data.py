"""`facelab data list|fetch|prepare`: the data sets under the data home."""
from __future__ import annotations

from ..errors import FacelabError
from .output import print_json, shown


def _cmd_list(args) -> int:
    from ..config import data_home_rule
    from ..data import list_datasets

    home, rule = data_home_rule()
    entries = list_datasets(verify=args.verify)
    if args.json:
        print_json({"data_home": str(home), "data_home_rule": rule, "datasets": entries})
        return 0
    print(f"data home: {shown(home)}  (chosen by: {rule})")
    for e in entries:
        if not e["found"]:
            print(f"  {e['name']:<26} MISSING  looked at {e['looked']}\n      how to obtain: {e['how']}")
            continue
        counts = ", ".join(f"{k} {e[k]}" for k in ("images", "faces", "identities", "classes", "face_free_images") if k in e)
        splits = e.get("splits") or {}
        split_txt = "; ".join(f"{k}: {v['images'] if isinstance(v, dict) else v}" for k, v in splits.items())
        check = f"  checksums {e['checksums']}" if "checksums" in e else "  (checksums: use --verify)"
        print(f"  {e['name']:<26} found    {counts}{check}\n      {e['path']}" + (f"\n      splits: {split_txt}" if split_txt else ""))
        if "error" in e:
            print(f"      problem: {e['error']}")
    return 0


def _cmd_fetch(args) -> int:
    from ..data import fetch

    result = fetch(args.name)
    print_json(result) if args.json else print(f"{args.name}: fetched and verified, {result}")
    return 0


def _cmd_prepare(args) -> int:
    from ..data import prepare_cache

    if args.name != "fer2013":
        raise FacelabError(f"`data prepare` knows fer2013 only, not {args.name!r}")
    out = prepare_cache(args.csv, args.out)
    print_json({"written": str(out)}) if args.json else print(f"wrote {out}")
    return 0


def register(commands, train, evaluate) -> None:
    from ..data import DATASETS

    data = commands.add_parser("data", help="list, fetch or prepare the data sets",
                               description="Data sets live under the data home: $FACELAB_DATA, else ../shared/datasets "
                                           "beside the checkout, else ./datasets, else the checkout's datasets/ "
                                           "(`facelab data list` says which rule chose it).")
    dsub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    p = dsub.add_parser("list", help="every data set: found or missing, counts, splits, checksums")
    p.add_argument("--verify", action="store_true", help="also check the SHA256SUMS files (reads every file)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_list)
    p = dsub.add_parser("fetch", help="download a data set from its official source and verify it (needs internet)")
    p.add_argument("name", choices=list(DATASETS), help="data set to fetch: %(choices)s (those without an official download say how to obtain them)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_fetch)
    p = dsub.add_parser("prepare", help="turn an official FER2013 CSV into facelab's npz cache")
    p.add_argument("name", choices=["fer2013"], help="data set: %(choices)s")
    p.add_argument("--csv", required=True, help="the official fer2013.csv (emotion,pixels,Usage)")
    p.add_argument("--out", help="npz to write (default $FACELAB_DATA/fer2013/fer2013.npz)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_cmd_prepare)
