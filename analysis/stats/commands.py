"""``python -m analysis estimate``: design-based estimates from any survey table, outside the dashboard.

    python -m analysis estimate DATA.csv [--weight W] [--strata S] [--psu P [P2 ...]] [--fpc F [F2 ...]]
                                (--mean V | --prop V [--level L] | --total V | --ratio NUM DEN
                                 | --quantile V [--q P [P ...]]) [--by G [G ...]] [--where COL]
                                [--ci wald|logit|korn-graubard] [--df design|domain] [--conf-level X]
                                [--lonely-psu adjust|remove|certainty|average|fail]
                                [--format json|csv] [--no-suppress]
                                [--poststratify TOTALS.csv | --rake TOTALS.csv [TOTALS.csv ...]]

``--ratio NUM DEN`` is the ratio of totals with its linearised SE (R ``svyratio``); ``--quantile V`` the
quantiles of V at ``--q`` (default the median) with Woodruff (1952) intervals and the SE derived from the
interval, as R ``svyquantile(interval.type = "mean", qrule = "math")``, with each domain's own df (one row per
domain and probability).

DATA is CSV or Parquet. It prints one row per domain with estimate, SE, CI, CV, unweighted n and design
df, plus the Kish design effect and the reliability label; estimates that fail the reliability rules (BPS: n < 30 or RSE >
50%; proportions also the NCHS 2017 standard) are printed empty unless ``--no-suppress`` is given. Rows with weight 0 are not respondents (not in n).
A multistage design gives one ``--psu`` column per stage and, for the without-replacement variance of R
``svydesign(ids=~a+b, fpc=~f1+f2)``, one ``--fpc`` per stage (population units or sampling fractions; see
``analysis.stats.design.design_structure``); without ``--weight`` the weights are computed from the fpcs.
``--where`` must name a boolean (or 0/1) column.

Confidence level and factor level: ``--conf-level X`` (0 < X < 1, default 0.95) is always the confidence
level of every interval. ``--level L`` is the *factor level* when ``--prop`` names a categorical
(non-boolean) column: the estimate is then the proportion of ``V == L`` among rows with V observed (R
``svymean(~factor(V))`` row L, ``svyciprop(~I(V == L))``); ``--prop`` on such a column without ``--level`` is an
error listing its levels (at most 20). Otherwise ``--level`` must be a number in (0, 1) and is the confidence
level; giving it together with ``--conf-level`` is an error.

The JSON ``design`` block records the design, ``--where``, ``--by``, the interval, ``--df``, the level, the
factor level (``category``) and whether the reliability rule was applied; CSV rows carry ``level``,
``ci_method``, ``df_method`` and ``design`` columns (and ``category`` for a factor proportion). Errors (unknown
column, non-numeric, negative or all-zero weights, a non-boolean ``--where``, ``--no-suppress`` on a design with no
df, a level outside (0, 1), ...) are printed as one line and exit with status 2.

``--poststratify TOTALS.csv`` post-stratifies the weights and ``--rake`` rakes them to one totals file per margin
(``analysis.stats.calibration``; the SEs are then the calibrated linearisation SEs). A totals file has the
category column(s), named as in DATA (several columns: a joint margin such as kota x sex), and a ``total``
column; categories are matched on their text. The JSON design block and the CSV ``design`` column record the
files' names.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pandas as pd

from analysis.errors import InputError
from analysis.stats import calibration
from analysis.stats.design import CI_METHODS, LONELY_PSU_OPTIONS, SurveyDesign, check_level
from analysis.stats.linear import FAMILIES, fit_survey_regression


def read_table(path: Path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise InputError("missing_file", "file not found", str(path))
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix in (".csv", ".txt", ".gz"):
            return pd.read_csv(path, low_memory=False)
    except Exception as exc:
        raise InputError("unreadable_file", f"cannot read the file as {suffix.lstrip('.') or 'a table'} ({type(exc).__name__})", str(path)) from exc
    raise InputError("unsupported_format", "DATA must be a .csv or .parquet file", str(path))


def stages(columns: list[str] | None) -> str | list[str] | None:
    """``--psu`` / ``--fpc`` as given: one column as a name (as before multistage designs), several as a list."""
    if columns is None:
        return None
    return columns[0] if len(columns) == 1 else list(columns)


def read_totals(path: Path) -> tuple[list[str], pd.DataFrame]:
    """A population totals file: its category columns (every column but ``total``, read as text) and the table."""
    path = Path(path)
    if not path.exists():
        raise InputError("missing_file", "totals file not found", str(path))
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            table = pd.read_parquet(path)
            table = table.astype({c: "string" for c in table.columns if c != calibration.TOTAL_COLUMN})
        else:
            table = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except Exception as exc:
        raise InputError("unreadable_file", f"cannot read the totals file ({type(exc).__name__})", str(path)) from exc
    if calibration.TOTAL_COLUMN not in table.columns:
        raise InputError("bad_totals", f"a totals file needs a '{calibration.TOTAL_COLUMN}' column beside the category column(s); it has {', '.join(map(str, table.columns))}", str(path))
    columns = [c for c in table.columns if c != calibration.TOTAL_COLUMN]
    if not columns:
        raise InputError("bad_totals", "a totals file needs at least one category column named as in the data", str(path))
    return columns, table


def calibrated(design: SurveyDesign, args) -> SurveyDesign:
    """The design post-stratified (``--poststratify``) or raked (``--rake``) to the totals files, else as it is."""
    if getattr(args, "poststratify", None):
        columns, table = read_totals(args.poststratify)
        return calibration.post_stratify(design, columns, table)
    if getattr(args, "rake", None):
        margins = [read_totals(path) for path in args.rake]
        return calibration.rake(design, [m[0] for m in margins], [m[1] for m in margins])
    return design


def design_from_args(data: pd.DataFrame, args) -> SurveyDesign:
    """The ``SurveyDesign`` of ``--weight``, ``--strata``, ``--psu`` (one column per stage) and ``--fpc`` (one per
    ``--psu`` stage, or none), shared by ``estimate`` and ``regress``."""
    if args.fpc is not None and len(args.fpc) != (len(args.psu) if args.psu else 1):
        raise InputError("bad_fpc", f"{len(args.fpc)} --fpc column(s) for {len(args.psu) if args.psu else 1} sampling stage(s): give one --fpc per --psu column, or none", Path(args.data).name)
    return SurveyDesign(data, args.weight, strata=args.strata, psu=stages(args.psu), fpc=stages(args.fpc), lonely_psu=args.lonely_psu, source=Path(args.data).name)


def run(args) -> pd.DataFrame:
    data = read_table(args.data)
    design = design_from_args(data, args)
    design = calibrated(design, args)
    suppress = not args.no_suppress
    if not suppress and design.df < 1:
        raise InputError("no_variance", f"the design has {design.n_psu} PSU(s) in {design.n_strata} stratum/strata (df {design.df}): "
                         "no variance can be estimated, so there is no SE or interval to print (give --psu / --strata, or drop --no-suppress)", Path(args.data).name)
    args.confidence, args.category = confidence_and_category(args, design)
    level = args.confidence
    if getattr(args, "ratio", None):
        return design.ratio(args.ratio[0], args.ratio[1], by=args.by, where=args.where, level=level, suppress=suppress, df=args.df)
    if getattr(args, "quantile", None):
        return design.quantile(args.quantile, q=args.q, by=args.by, where=args.where, level=level, suppress=suppress)
    if args.total:
        return design.total(args.total, by=args.by, where=args.where, level=level, suppress=suppress, df=args.df)
    if args.prop and args.category is not None:
        return design.factor_prop(args.prop, args.category, by=args.by, where=args.where, ci=args.ci, level=level, suppress=suppress, df=args.df)
    if args.prop:
        return design.prop(args.prop, by=args.by, where=args.where, ci=args.ci, level=level, suppress=suppress, df=args.df)
    return design.mean(args.mean, by=args.by, where=args.where, level=level, suppress=suppress, df=args.df)


def confidence_and_category(args, design: SurveyDesign) -> tuple[float, str | None]:
    """The confidence level and the factor level of ``--prop``, from ``--conf-level`` and ``--level``.

    ``--conf-level X`` is always the confidence level. ``--level L`` is the factor level when ``--prop`` names
    a non-boolean column (the estimate is then the proportion of ``V == L``); otherwise it must be a number in
    (0, 1) and is the confidence level. Both given as confidence levels is an error, and so is ``--prop`` on a
    non-boolean column without ``--level`` (the message lists the column's levels)."""
    source = Path(args.data).name
    conf = getattr(args, "conf_level", None)
    given = getattr(args, "level", None)
    category = None
    factor = bool(args.prop) and not design.is_binary(args.prop)
    if conf is not None:
        conf = check_level(conf, source)
    if given is not None and factor:
        category = given
    elif given is not None:
        try:
            as_level = float(given)
        except ValueError:
            raise InputError("bad_level", f"--level {given!r}: the confidence level must be a number between 0 and 1"
                             + (f" ('{args.prop}' is boolean, so --level is not a factor level)" if args.prop else ""), source) from None
        if conf is not None:
            raise InputError("conflicting_level", f"--level {given} and --conf-level {conf} both give the confidence level: give one of them", source)
        conf = check_level(as_level, source)
    if factor and category is None:
        raise InputError("non_binary", f"--prop column '{args.prop}' is not boolean or 0/1: give --level L for the proportion of '{args.prop}' == L "
                         f"(its levels: {design.levels_text(args.prop)})", source)
    return (LEVEL if conf is None else conf), category


def _json_value(v):
    if v is None or v is pd.NA:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "item"):
        v = v.item()
        if isinstance(v, float) and math.isnan(v):
            return None
    return v


LEVEL = 0.95


def design_block(args) -> dict:
    """Everything that decides the numbers: the design, the subpopulation and domains, the interval, the df
    rule and whether the reliability rule was applied."""
    block = {"weight": args.weight, "strata": args.strata, "psu": stages(args.psu), "fpc": stages(args.fpc), "lonely_psu": args.lonely_psu,
             "where": args.where, "by": args.by, "ci": interval_name(args), "df": "domain" if getattr(args, "quantile", None) else args.df,
             "level": confidence(args),
             "suppress": not args.no_suppress, **({"category": args.category} if getattr(args, "category", None) is not None else {})}
    if getattr(args, "poststratify", None):
        block["poststratify"] = Path(args.poststratify).name
    if getattr(args, "rake", None):
        block["rake"] = [Path(p).name for p in args.rake]
    return block


def interval_name(args) -> str:
    """The interval printed: ``--ci`` for a proportion, Woodruff's for a quantile, Wald t otherwise."""
    if getattr(args, "quantile", None):
        return "woodruff"
    return args.ci if args.prop else "wald"


def confidence(args) -> float:
    """The confidence level ``run`` resolved (0.95 unless ``--conf-level`` / a numeric ``--level`` said otherwise)."""
    return getattr(args, "confidence", None) or LEVEL


def statistic_and_variable(args) -> tuple[str, str]:
    """What the command estimated and of which column(s): ``("ratio", "NUM/DEN")``, ``("quantile", V)``, ..."""
    if getattr(args, "ratio", None):
        return "ratio", "/".join(args.ratio)
    if getattr(args, "quantile", None):
        return "quantile", args.quantile
    return ("total" if args.total else "proportion" if args.prop else "mean"), (args.total or args.prop or args.mean)


def render(result: pd.DataFrame, args) -> str:
    statistic, variable = statistic_and_variable(args)
    block = design_block(args)
    if args.format == "csv":
        out = result.copy()
        out.insert(0, "variable", variable)
        out.insert(1, "statistic", statistic)
        # the interval and design on every row, so a CSV read on its own still says what its numbers are
        if getattr(args, "category", None) is not None:
            out.insert(2, "category", args.category)
        out["level"] = confidence(args)
        out["ci_method"] = block["ci"]
        out["df_method"] = block["df"]
        out["design"] = "; ".join(f"{k}={'-' if v is None else (' '.join(v) if isinstance(v, list) else v)}"
                                  for k, v in block.items() if k not in ("ci", "df", "level", "category"))
        return out.to_csv(index=False, lineterminator="\n")
    rows = [{k: _json_value(v) for k, v in row.items()} for row in result.to_dict(orient="records")]
    payload = {"variable": variable, "statistic": statistic, "design": block, "level": confidence(args), "results": rows}
    if getattr(args, "category", None) is not None:
        payload["category"] = args.category
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def cmd_estimate(args) -> int:
    if args.ci != "wald" and not args.prop:
        print("error: --ci logit / korn-graubard apply to --prop only", file=sys.stderr)
        return 2
    if args.q != [0.5] and not args.quantile:
        print("error: --q applies to --quantile only", file=sys.stderr)
        return 2
    return print_result(run, render, args)


def print_result(compute, render_result, args) -> int:
    """Run ``compute(args)`` and print ``render_result(result, args)``; an ``InputError`` is printed as one line
    ``error [code]: message`` on stderr with exit status 2."""
    try:
        result = compute(args)
    except InputError as exc:
        print(f"error [{exc.code}]: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(render_result(result, args))
    return 0


def run_regression(args) -> pd.DataFrame:
    """``python -m analysis regress``: the coefficient table of ``fit_survey_regression`` at the confidence level."""
    data = read_table(args.data)
    source = Path(args.data).name
    design = design_from_args(data, args)
    args.confidence = check_level(args.conf_level if args.conf_level is not None else LEVEL, source)
    fit = fit_survey_regression(design, args.y, args.x, family=args.family, where=args.where, factors=tuple(args.factor or ()))
    args.fit = fit
    return fit.table(args.confidence)


def render_regression(table: pd.DataFrame, args) -> str:
    fit = args.fit
    block = {"weight": args.weight, "strata": args.strata, "psu": stages(args.psu), "fpc": stages(args.fpc), "lonely_psu": args.lonely_psu,
             "where": args.where, "family": args.family, "level": args.confidence}
    if args.format == "csv":
        out = table.copy()
        out.insert(0, "outcome", fit.outcome)
        out["n"] = fit.n
        out["level"] = args.confidence
        out["family"] = args.family
        out["design"] = "; ".join(f"{k}={'-' if v is None else (' '.join(v) if isinstance(v, list) else v)}" for k, v in block.items() if k not in ("family", "level"))
        return out.to_csv(index=False, lineterminator="\n")
    rows = [{k: _json_value(v) for k, v in row.items()} for row in table.to_dict(orient="records")]
    payload = {"outcome": fit.outcome, "covariates": list(args.x), "terms": list(fit.names), "family": args.family, "design": block, "level": args.confidence,
               "n": fit.n, "weighted_n": fit.weighted_n, "df": fit.df, "coefficients": rows}
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def cmd_regress(args) -> int:
    return print_result(run_regression, render_regression, args)


def add_design_arguments(p) -> None:
    """``--weight``, ``--strata``, ``--psu`` (one column per stage) and ``--fpc`` (one per stage), as ``design_from_args`` reads them."""
    p.add_argument("--weight", default=None, help="sampling weight column (omit only when every stage has an --fpc of population sizes: the weights are then computed from them)")
    p.add_argument("--strata", default=None, help="stratum column")
    p.add_argument("--psu", nargs="+", default=None, metavar="STAGE", help="sampling unit column of each stage: primary sampling unit (cluster), then the units sampled within it, ...; PSUs are nested in strata")
    p.add_argument("--fpc", nargs="+", default=None, metavar="FPC", help="finite population correction column of each --psu stage: population units per stratum / parent unit (> 1) or sampling fraction (<= 1)")


def register_regress(subparsers) -> None:
    """``python -m analysis regress DATA --weight W [--strata S] [--psu P] [--fpc F] --y Y --x X1 X2 ...
    [--family gaussian|binomial] [--where COL] [--conf-level X] [--format json|csv]``: survey-weighted linear or
    logistic regression (R ``svyglm``; ``analysis.stats.linear``): coefficients, design-based (sandwich) SEs,
    t tests and intervals with ``degf + 1 - p`` df. Errors print one line and exit 2."""
    p = subparsers.add_parser(
        "regress",
        help="survey-weighted linear or logistic regression (R svyglm) from a CSV or Parquet survey file",
        description="Survey-weighted regression with design-based (linearisation) standard errors: coefficients, SE, t, p and CI "
                    "with df = design df + 1 - number of coefficients, as R svyglm.",
    )
    p.add_argument("data", type=Path, help="survey data: .csv or .parquet, one row per respondent")
    add_design_arguments(p)
    p.add_argument("--y", required=True, metavar="Y", help="outcome column (numeric; boolean or 0/1 for --family binomial)")
    p.add_argument("--x", required=True, nargs="+", metavar="X", help="covariate column(s): numeric, or text (a factor); an intercept is always included")
    p.add_argument("--factor", nargs="+", default=None, metavar="X", help="covariates among --x to treat as factors although they hold numbers "
                   "(e.g. area codes): one coefficient per level but the first (R treatment contrasts, named X + level); text columns are factors anyway")
    p.add_argument("--family", choices=FAMILIES, default="gaussian", help="gaussian (linear, default) or binomial (logistic)")
    p.add_argument("--where", default=None, metavar="COL", help="boolean column restricting to a subpopulation (a domain, not a subset)")
    p.add_argument("--conf-level", type=float, default=None, metavar="X", help="confidence level of the intervals, 0 < X < 1 (default 0.95)")
    p.add_argument("--lonely-psu", choices=LONELY_PSU_OPTIONS, default="adjust", help="strata with one PSU (as R survey.lonely.psu)")
    p.add_argument("--format", choices=("json", "csv"), default="json")
    p.set_defaults(func=cmd_regress)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "estimate",
        help="design-based mean, proportion or total (Taylor linearisation) from a CSV or Parquet survey file",
        description="Design-based estimates with strata, PSUs, weights and fpc: estimate, SE, CI (95%% unless --conf-level), CV, n and df. "
                    "--conf-level X is always the confidence level; --level L is the factor level when --prop names a categorical column, "
                    "and otherwise, when L is a number in (0, 1), the confidence level.",
    )
    p.add_argument("data", type=Path, help="survey data: .csv or .parquet, one row per respondent")
    add_design_arguments(p)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--mean", metavar="V", help="estimate the mean of numeric column V")
    what.add_argument("--prop", metavar="V", help="estimate the proportion of V true (boolean or 0/1), or of V == L with --level L for a categorical V")
    what.add_argument("--total", metavar="V", help="estimate the population total of V")
    what.add_argument("--ratio", nargs=2, metavar=("NUM", "DEN"), help="estimate the ratio of totals NUM / DEN (R svyratio, linearised SE)")
    what.add_argument("--quantile", metavar="V", help="estimate quantiles of V with Woodruff intervals (R svyquantile, qrule math); see --q")
    p.add_argument("--q", nargs="+", type=float, default=[0.5], metavar="P", help="probabilities for --quantile, each in [0, 1] (default 0.5)")
    p.add_argument("--by", nargs="+", default=None, metavar="G", help="domain column(s): one estimate per domain (subpopulations, all PSUs kept)")
    p.add_argument("--where", default=None, metavar="COL", help="boolean column restricting to a subpopulation (a domain, not a subset)")
    p.add_argument("--ci", choices=CI_METHODS, default="wald", help="interval for --prop (default wald, clipped to [0, 1])")
    p.add_argument("--df", choices=("design", "domain"), default="design", help="degrees of freedom: design (PSUs - strata, as R/Stata) or per domain (PSUs - strata holding the domain)")
    p.add_argument("--conf-level", type=float, default=None, metavar="X", help="confidence level of every interval, 0 < X < 1 (default 0.95)")
    p.add_argument("--level", default=None, metavar="L", help="with --prop on a categorical (non-boolean) column: the factor level L whose proportion is "
                   "estimated; otherwise a number in (0, 1) read as the confidence level (not together with --conf-level)")
    p.add_argument("--lonely-psu", choices=LONELY_PSU_OPTIONS, default="adjust", help="strata with one PSU (as R survey.lonely.psu)")
    p.add_argument("--format", choices=("json", "csv"), default="json")
    p.add_argument("--no-suppress", action="store_true", help="print estimates that fail the reliability rules (BPS: n < 30 or RSE > 50%%; proportions also the NCHS standard: effective n < 30 or a CI too wide)")
    weighting = p.add_mutually_exclusive_group()
    weighting.add_argument("--poststratify", type=Path, default=None, metavar="TOTALS", help="post-stratify to a totals file: category column(s) named as in DATA and a 'total' column")
    weighting.add_argument("--rake", type=Path, nargs="+", default=None, metavar="TOTALS", help="rake to one totals file per margin (each: category column(s) and 'total')")
    p.set_defaults(func=cmd_estimate)
    register_regress(subparsers)
