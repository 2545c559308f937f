"""Coverage of the published intervals against the SYNTHETIC demo survey's known truth: one harness for the
fast CI test (``tests/stats/test_coverage.py``, a few small surveys) and the benchmark
(``bench/bench_coverage.py``, many seeds at the demo's size).

A *replicate* is one seeded run of the demo generator (``analysis.survey.generate``: synthetic populations of the
sampled kelurahan, a stratified two-stage sample, a dirty KoboToolbox export) read back exactly as the build
reads it (``analysis.survey.ingest.ingest_export``), with the generator's truth beside it, and the synthetic
population completed to the WHOLE frame (``whole_population``): the kelurahan the sample left out (185 of 267 at
the demo's size) are built by ``generate.build_unsampled_populations`` with the same model on the sampled
population's scale (quintile cuts, education thresholds) from a random stream of their own, so the sample, its
population and its export are the generator's, unchanged. Since the first stage is PPS on the register's sizes,
independent of every random effect, "sample, then generate the rest" has the joint distribution of "generate
every kelurahan, then sample" (``tests/survey/test_generate.py`` checks the unsampled kelurahan's true rates
against the sampled ones' given the covariates over seeds). Only what the truth needs is kept (per-kelurahan
numerators and denominators, person counts, model patterns), part by part. The truth used:

- a kelurahan's true rate is its rate on its full synthetic population (``truth_kelurahan.csv`` for the sampled
  ones, ``Replicate.frame_truth`` for every kelurahan of the frame);
- the kota's and the city's (default, ``WHOLE_TRUTH``) is the rate over every person or household of every
  kelurahan of the kota / city in the whole synthetic population (``reference_truth``), what a published
  kota or city estimate is an estimate of; a gap's truth is ``rate_kelurahan - rate_reference``. The previous
  truth, which conditions on the first stage (the sampled kelurahan's populations weighted by
  ``1 / pi_kelurahan``, the generator's ``city_truth_weighted``; ``truth_weighted_rate``), is kept as
  ``CONDITIONAL_TRUTH`` (``replicate_coverage(truth=...)``, types suffixed ``CONDITIONAL_TRUTH_SUFFIX``): it is
  what ``conditional_design`` (the variance given the sampled kelurahan) is measured against, which validated
  the harness (94.6% on 669 kota rows, seeds 1-12), and against the whole truth that variance falls short
  (85.9%: it leaves out the first stage).

The harness runs the build's published pipeline: the persons' weights raked to kota x sex and kota x age-band
totals (``estimates.rake_persons``) for the estimates, and the raked weights (``estimates.calibrated_persons``) for
the gaps, small-area estimates and models, as ``estimates.stage_persons`` gives the later stages. The totals are
the SYNTHETIC population's own (``synthetic_margins``), not Dukcapil's as in the build: with the whole truth the
whole population's (every person of the 267 kelurahan once, ``Replicate.margins``), as the build rakes to the
register's whole-kota totals and as the truth is defined (raking to the sampled kelurahan's weighted totals
would calibrate to an estimate of them, with its first-stage error, instead of the population's totals); with
the conditional truth the sampled kelurahan's weighted by ``1 / pi_kelurahan`` (``Replicate.conditional_margins``),
that truth's own definition. Not Dukcapil's: the generator's population is older and more male than the
register's (seed 101: 20% aged 0-14 and 11% aged 60+, 52% male, against the register's 25%, 8% and 50%), so
raking the demo to the register estimates a population other than its truth, a property of the synthetic
demo, not of the method. ``replicate_coverage(rake=False)`` gives the same intervals from the design
weights (types suffixed ``RAW_SUFFIX``).

Interval types measured (each row of ``replicate_coverage`` is one interval: ``type``, ``seed``, ``cluster``,
``covered``):

- ``direct``: kelurahan direct estimates (Korn-Graubard, domain df) as published in ``estimates``;
- ``city_direct`` / ``kota_direct``: the published city and kota rows (two-stage design, kelurahan by PPS
  without replacement with Brewer's approximation, then RW, certainty kelurahan by their RWs:
  ``estimates.survey_design``) against the whole kota / city; with ``variants`` also with the first stage with
  replacement (``WR_FIRST_STAGE_SUFFIX``, the published form before), under the RW-as-PSU design and with the
  variance given the sampled kelurahan (``conditional_design``). The clusters are the areas (one city per
  seed: its MC SE rests on the seeds alone);
- ``gap_kota`` / ``gap_city``: the ``gaps`` table's intervals of direct (``method = direct``) gaps (the
  reference side with its published two-stage variance, ``gaps.REFERENCE_VARIANCE``; with ``variants`` also the
  other ``gaps.REFERENCE_VARIANCES``);
- ``sae_sampled``: Fay-Herriot intervals of the sampled kelurahan (``sae_estimates``, composite rows);
- ``sae_unsampled``: a random quarter of the sampled kelurahan is held out of the model (its direct estimates
  dropped) and its synthetic interval compared with its truth;
- ``gap_modelled``: the modelled gaps (``analysis.stats.sae.modelled_gaps``) of those held-out kelurahan;
- ``sae_unsampled_frame`` / ``gap_modelled_frame``: the synthetic (model-only) intervals and modelled gaps of the
  frame's truly unsampled kelurahan, against the whole population's truth;
- ``model_coefficient`` / ``marginal_effect``: odds ratios and average marginal effects of the persons'
  internet-use model (``analysis.stats.models``, its published inference and kota reference) against the
  census fit of the same model on the synthetic population (``census_model``; it stays CONDITIONAL by default:
  the population of the sampled kelurahan weighted by ``1 / pi_kelurahan``, so it conditions on the first stage
  as the models' RW-level variance does; with ``variants`` also against the whole population's census fit,
  ``Replicate.census_whole``, ``WHOLE_CENSUS_SUFFIX``, which the published model intervals under-cover:
  ``bench/RESULTS.md``; the estimates' mean error is within about 2 Monte Carlo SEs of 0 for every
  term over seeds 1-14, |mean error| / SD at most 0.63); their clusters are the model terms. The MC SE is over seed x term, which ignores
  that the kota terms of one seed share their reference kota: read the kota terms' coverage with that in mind.

Coverage is a mean over intervals that are correlated within a kelurahan (indicators, both gaps) and within a
replicate, so its Monte Carlo SE (``summarise``) is cluster-robust over (seed, kelurahan) clusters.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.areas import CITY_CODE
from analysis.stats import estimates as est_mod
from analysis.stats import gaps as gaps_mod
from analysis.stats import indicators as ind
from analysis.stats import sae as sae_mod
from analysis.stats.design import SurveyDesign

# truth indicator (generator column) -> indicator id, where the truth's universe is the indicator's
TRUTH_INDICATORS = {
    "has_internet": "hh_internet", "uses_internet": "person_internet", "owns_smartphone": "person_smartphone",
    "digital_skill_basic": "person_digital_skill", "knows_jaki": "jaki_aware", "installed_jaki": "jaki_installed",
    "used_bst_check": "bst_check_used", "info_rt_rw": "info_rt_rw", "info_whatsapp": "info_whatsapp", "info_jaki": "info_jaki",
}
TYPES = ("direct", "city_direct", "kota_direct", "gap_kota", "gap_city", "sae_sampled", "sae_unsampled", "gap_modelled",
         "sae_unsampled_frame", "gap_modelled_frame", "model_coefficient", "marginal_effect")
HOLDOUT_SHARE = 0.25
FIRST_KOTA = "first"  # model_coverage(kota_reference=...): the first kota code, R's default coding (before issue 12)


@dataclass(frozen=True)
class Replicate:
    """One seeded demo survey as the build reads it, with its truth."""

    seed: int
    households: pd.DataFrame
    persons: pd.DataFrame
    truth: pd.DataFrame  # survey_truth rows (kelurahan_rate, city_rate, coefficient)
    pi_kelurahan: pd.Series  # kelurahan code -> first-stage inclusion probability
    kota_of: pd.Series  # kelurahan code -> kota code
    census: dict | None = None  # census parameters of the access model (``census_model``)
    margins: est_mod.PopulationMargins | None = None  # the whole synthetic population's raking totals (``synthetic_margins``)
    frame_truth: pd.DataFrame | None = None  # true rates of EVERY kelurahan of the frame (``WholePopulation.truth``)
    conditional_margins: est_mod.PopulationMargins | None = None  # the sampled kelurahan's, weighted by 1 / pi_kelurahan
    census_whole: dict | None = None  # the access model's census parameters on the WHOLE synthetic population


@dataclass(frozen=True)
class Inputs:
    """What every replicate shares: the kelurahan register and the Dukcapil covariates."""

    register: pd.DataFrame
    covariates: pd.DataFrame | None


def load_inputs(raw: Path, processed: Path) -> Inputs:
    """Register and covariates from a ``data/raw`` (the build's own stages)."""
    from analysis.build import run_build

    ctx = run_build(raw=raw, processed=processed, stages=["analysis.etl.registers", "analysis.etl.covariates"])
    cov = ctx.tables.get("kelurahan_covariates")
    return Inputs(ctx.tables["wilayah_register"].data, None if cov is None else cov.data)


def replicate(inputs: Inputs, seed: int, households: int = 4000, kelurahan: int = 80) -> Replicate:
    """Generate the demo survey with ``seed`` (at the given size) and ingest it as the build does."""
    from analysis.survey import kobo_export
    from analysis.survey.export_files import export_files
    from analysis.survey.generate import SURVEY_ID, GenerateOptions, generate
    from analysis.survey.ingest import ingest_export
    from analysis.survey.stage import truth_table

    with tempfile.TemporaryDirectory(prefix="coverage_") as tmp:
        out = Path(tmp)
        generate(GenerateOptions(out=out, seed=seed, households=households, kelurahan=kelurahan, format="csv"),
                 covariates=inputs.covariates, register=inputs.register)
        result = ingest_export(export_files(out / f"{kobo_export.FILE_STEM}.csv"), register=inputs.register,
                               design=out / "design.csv", source_name=SURVEY_ID, survey_id=SURVEY_ID, synthetic=True)
        truth = truth_table(out)
        design = pd.read_csv(out / "design.csv", dtype={"kode_kemendagri": str, "kode_kab_kemendagri": str})
    tables = {t.name: t.data for t in result.tables(sources=["synthetic_demo_survey"])}
    first = design.drop_duplicates("kode_kemendagri").set_index("kode_kemendagri")
    pop = population(inputs, seed, households, kelurahan)
    whole = whole_population(inputs, pop, seed)
    return Replicate(seed, tables["survey_households"], tables["survey_persons"], truth,
                     first["pi_kelurahan"].astype(float), first["kode_kab_kemendagri"].astype(str),
                     census_model(pop), whole.margins, whole.truth,
                     synthetic_margins([person_counts(pop.population, weighted=True)]), census_model(pop, whole.census_patterns))


@dataclass(frozen=True)
class SampledPopulation:
    """The generator's first-stage sample, RW frame and synthetic population of one seed (``population``)."""

    sample: pd.DataFrame
    rw: pd.DataFrame
    population: object  # analysis.survey.generate.Population


def population(inputs: Inputs, seed: int, households: int, kelurahan: int) -> SampledPopulation:
    """The synthetic population of the sampled kelurahan of ``seed``, rebuilt with the generator's own public
    functions and random stream, in the order ``generate`` draws it (it is identical: ``replicate_coverage``'s
    test checks its true rates against ``truth_kelurahan.csv``)."""
    from analysis.survey import design as design_mod
    from analysis.survey.generate import build_population

    rng = np.random.default_rng(seed)
    frame = design_mod.kelurahan_frame(inputs.register, inputs.covariates)
    sample, rw = design_mod.select_sample(frame, design_mod.DesignSpec(households=households, n_kelurahan=kelurahan), rng)
    return SampledPopulation(sample, rw, build_population(sample, rw, frame, rng))


@dataclass(frozen=True)
class WholePopulation:
    """What the harness keeps of the synthetic population of the WHOLE frame of one seed (``whole_population``):
    the true rates of every kelurahan, the raking totals and the census model's person patterns."""

    truth: pd.DataFrame  # indicator_id, kode_kemendagri, kota, numerator, denominator, value, sampled
    margins: est_mod.PopulationMargins
    census_patterns: pd.DataFrame  # census_patterns of every person 5+ of the frame, weight 1


def whole_population(inputs: Inputs, sampled: SampledPopulation, seed: int) -> WholePopulation:
    """The synthetic population of every kelurahan of the frame (267): the sampled kelurahan's (``population``,
    as the generator built them) and the unsampled ones' (``generate.build_unsampled_populations``: same model,
    same scale, their own random stream), reduced part by part to what the truth needs (true kelurahan
    numerators and denominators of ``TRUTH_INDICATORS``, kota x sex and kota x age-band person counts, the census
    model's patterns), each person counted once."""
    from analysis.survey import design as design_mod
    from analysis.survey.generate import build_unsampled_populations, truth_tables

    frame = design_mod.kelurahan_frame(inputs.register, inputs.covariates)
    kota = dict(zip(frame["kode_kemendagri"], frame["kode_kab_kemendagri"].astype(str)))
    parts = [(sampled.population, True)]
    parts += [(p, False) for p in build_unsampled_populations(frame, sampled.sample, sampled.population.scale, seed)]
    truths, counts, patterns = [], [], []
    for pop, is_sampled in parts:
        table, _ = truth_tables(pop)
        truths.append(table.assign(sampled=is_sampled))
        counts.append(person_counts(pop, weighted=False))
        patterns.append(census_patterns(pop, weighted=False))
    t = pd.concat(truths, ignore_index=True)
    t["indicator_id"] = t["indicator"].map(TRUTH_INDICATORS)
    t = t.dropna(subset=["indicator_id"]).rename(columns={"rate": "value"})
    t["kota"] = t["kode_kemendagri"].map(kota)
    if len(t.drop_duplicates(["indicator_id", "kode_kemendagri"])) != len(frame) * len(TRUTH_INDICATORS):
        raise ValueError("the whole population does not have one truth per kelurahan of the frame and indicator")
    truth = t[["indicator_id", "kode_kemendagri", "kota", "numerator", "denominator", "value", "sampled"]].reset_index(drop=True)
    pat = pd.concat(patterns, ignore_index=True)
    pat = pat.groupby(CENSUS_PATTERN, observed=True)[["w", "wy"]].sum().reset_index()
    return WholePopulation(truth, synthetic_margins(counts), pat)


def person_counts(pop, weighted: bool) -> pd.DataFrame:
    """Persons of ``pop`` by kota, sex and calibration age band: ``total`` the count (``weighted=False``, a
    census of the part) or the count weighted by ``1 / pi_kelurahan`` (``weighted=True``: the sampled kelurahan
    standing for the city, the generator's ``city_truth_weighted`` definition)."""
    from analysis.survey.schema import SEXES

    hh, pp = pop.hh, pop.pp
    w = hh["w_city"][pp["hh"]] if weighted else np.ones(len(pp["hh"]))
    kota = pop.kel["kode_kab_kemendagri"].astype(str).to_numpy()[hh["kel"][pp["hh"]]]
    frame = pd.DataFrame({est_mod.KOTA: kota, "sex": np.asarray(SEXES, dtype=object)[pp["sex"]],
                          est_mod.CALIBRATION_BAND: est_mod.calibration_band(pp["age"]).to_numpy(), "total": w})
    return frame.groupby([est_mod.KOTA, "sex", est_mod.CALIBRATION_BAND], observed=True)["total"].sum().reset_index()


def synthetic_margins(counts: list[pd.DataFrame]) -> est_mod.PopulationMargins:
    """The raking totals the build takes from Dukcapil (``estimates.dukcapil_margins``: kota x sex and kota x age
    band), taken instead from the SYNTHETIC population itself: the sum of ``person_counts`` parts. The published
    default (``Replicate.margins``) is the WHOLE synthetic population, every person of every kelurahan of the frame
    once, as the build rakes to the register's whole-kota totals and as the whole truth is defined; the
    conditional variant (``Replicate.conditional_margins``) the sampled kelurahan's persons weighted by
    ``1 / pi_kelurahan``, which goes with the conditional truth. Raking the demo to Dukcapil's totals would move
    it toward the register's younger population and away from its own truth (the generator's ages are older than
    the register's), a property of the synthetic demo and not of the method; with these totals raking is
    measured against a population that satisfies its own margins."""
    frame = pd.concat(counts, ignore_index=True)

    def margin(column):
        out = frame.groupby([est_mod.KOTA, column], observed=True)["total"].sum().reset_index()
        return out.sort_values([est_mod.KOTA, column], kind="mergesort").reset_index(drop=True)

    return est_mod.PopulationMargins(sex=margin("sex"), age=margin(est_mod.CALIBRATION_BAND))


CENSUS_PATTERN = ["income_quintile", "education", "age_group", "sex", "hh_size", "kota"]


def census_patterns(pop, weighted: bool) -> pd.DataFrame:
    """The persons 5+ of ``pop`` reduced to the access model's covariate patterns (``CENSUS_PATTERN``): ``w`` their
    count (weighted by ``1 / pi_kelurahan`` when ``weighted``, as ``person_counts``) and ``wy`` that of internet
    users."""
    from analysis.survey.derive import QUINTILE_OF_BRACKET
    from analysis.survey.schema import AGE_GROUPS, EDUCATION_LEVELS, EXPENDITURE_BRACKETS, SEXES

    hh, pp = pop.hh, pop.pp
    keep = pp["age"] >= 5
    h = pp["hh"][keep]
    quint = np.array([QUINTILE_OF_BRACKET[b] for b in EXPENDITURE_BRACKETS])[hh["bracket"][h]]
    cols = pd.DataFrame({
        "income_quintile": quint, "education": np.array(EDUCATION_LEVELS, dtype=object)[pp["level"][keep]],
        "age_group": np.array(AGE_GROUPS, dtype=object)[pp["age_group"][keep]], "sex": np.array(SEXES, dtype=object)[pp["sex"][keep]],
        "hh_size": hh["size"][h], "kota": pop.kel["kode_kab_kemendagri"].astype(str).to_numpy()[hh["kel"][h]],
    })
    cols["w"] = hh["w_city"][h] if weighted else 1.0
    cols["wy"] = cols["w"] * pp["internet"][keep].astype(float)
    return cols.groupby(CENSUS_PATTERN, observed=True)[["w", "wy"]].sum().reset_index()


def census_model(sampled: SampledPopulation, patterns: pd.DataFrame | None = None) -> dict:
    """Census parameters of the persons' internet-use model (``analysis.stats.models``, main effects): the same
    weighted logistic regression fitted on a whole synthetic population. ``patterns``: that population's
    ``census_patterns`` (the harness passes the WHOLE frame's, ``WholePopulation.census_patterns``); default the
    sampled kelurahan's population (``population``) weighted by ``1 / pi_kelurahan`` (the conditional definition,
    the generator's ``city_truth_weighted``). Returns ``odds_ratios`` and ``marginal_effects`` frames and the
    sampled population's true kelurahan rates of internet use."""
    from analysis.stats import models
    from analysis.stats.logit import fit_survey_logit

    sample, rw, pop = sampled.sample, sampled.rw, sampled.population
    hh, pp = pop.hh, pop.pp
    pat = census_patterns(pop, weighted=True) if patterns is None else patterns
    ones = pat.assign(y=1.0, weight=pat["wy"])
    zeros = pat.assign(y=0.0, weight=pat["w"] - pat["wy"])
    census = pd.concat([ones, zeros], ignore_index=True)
    census = census[census["weight"] > 0].drop(columns=["w", "wy"]).reset_index(drop=True)
    census["income_quintile"] = census["income_quintile"].astype("Int64")
    census["stratum"], census["psu"], census["fpc_psu"], census["in_model"] = "all", np.arange(len(census)), np.nan, True
    spec = models.MODELS[0]
    # the survey fit's kota reference (``models.PUBLISHED_KOTA_REFERENCE``: the kota with the most sampled PSUs,
    # ties to the first code), read from the design, so the census coefficients are the same contrasts
    sampled_rw = rw.loc[rw["sampled"], ["kode_kemendagri"]].merge(sample[["kode_kemendagri", "kode_kab_kemendagri"]], on="kode_kemendagri")
    reference = sampled_rw.groupby(sampled_rw["kode_kab_kemendagri"].astype(str)).size().idxmax()
    fit = fit_survey_logit(census, spec.terms, kota_reference=reference)
    keep = pp["age"] >= 5
    h = pp["hh"][keep]
    kel_rate = pd.Series(np.bincount(hh["kel"][h], weights=pp["internet"][keep].astype(float)) / np.bincount(hh["kel"][h]),
                         index=pop.kel["kode_kemendagri"].astype(str).to_numpy())
    return {"model": spec.model_id, "odds_ratios": models.odds_ratios(spec.model_id, fit),
            "marginal_effects": models.marginal_effects(spec.model_id, fit), "kelurahan_rate": kel_rate}


def kelurahan_truth(rep: Replicate) -> pd.DataFrame:
    """True kelurahan rates by indicator id: indicator_id, kode_kemendagri, value, numerator, denominator."""
    t = rep.truth[rep.truth["kind"] == "kelurahan_rate"].copy()
    t["indicator_id"] = t["indicator"].map(TRUTH_INDICATORS)
    return t.dropna(subset=["indicator_id"])[["indicator_id", "kode_kemendagri", "value", "numerator", "denominator"]]


WHOLE_TRUTH, CONDITIONAL_TRUTH = "whole", "conditional"
CONDITIONAL_TRUTH_SUFFIX = " (truth given the sampled kelurahan)"


def reference_truth(rep: Replicate, truth: str = WHOLE_TRUTH) -> tuple[pd.Series, pd.Series]:
    """The city's and the kotas' true rates, (indicator_id, area code) -> rate. ``WHOLE_TRUTH`` (default): the rate
    over every person or household of every kelurahan of the city (kota) in the whole synthetic population
    (``rep.frame_truth``); ``CONDITIONAL_TRUTH``: the sampled kelurahan's populations weighted by
    ``1 / pi_kelurahan`` (``truth_weighted_rate``), which holds the first stage fixed."""
    if truth == CONDITIONAL_TRUTH:
        kel = kelurahan_truth(rep)
        return (truth_weighted_rate(rep, kel, pd.Series(CITY_CODE, index=rep.pi_kelurahan.index)),
                truth_weighted_rate(rep, kel, rep.kota_of))
    if truth != WHOLE_TRUTH:
        raise ValueError(f"truth must be {WHOLE_TRUTH!r} or {CONDITIONAL_TRUTH!r}, not {truth!r}")
    if rep.frame_truth is None:
        raise ValueError("this replicate has no whole-population truth (frame_truth)")
    t = rep.frame_truth
    kota = t.groupby(["indicator_id", "kota"])[["numerator", "denominator"]].sum()
    city = t.groupby("indicator_id")[["numerator", "denominator"]].sum()
    city.index = pd.MultiIndex.from_arrays([city.index, [CITY_CODE] * len(city)], names=["indicator_id", "kota"])
    return city["numerator"] / city["denominator"], kota["numerator"] / kota["denominator"]


def truth_weighted_rate(rep: Replicate, kel: pd.DataFrame, group: pd.Series) -> pd.Series:
    """Rate over the sampled kelurahan's populations weighted by ``1 / pi_kelurahan`` (the generator's
    ``city_truth_weighted``) within each value of ``group`` (kelurahan code -> group); (indicator_id, group)."""
    k = kel.assign(w=1.0 / kel["kode_kemendagri"].map(rep.pi_kelurahan), g=kel["kode_kemendagri"].map(group))
    num = (k["w"] * k["numerator"]).groupby([k["indicator_id"], k["g"]]).sum()
    den = (k["w"] * k["denominator"]).groupby([k["indicator_id"], k["g"]]).sum()
    return num / den


def _covered(lo, hi, value) -> np.ndarray:
    lo, hi, value = (np.asarray(a, dtype=float) for a in (lo, hi, value))
    return (lo <= value) & (value <= hi)


TWO_STAGE, TWO_STAGE_WR, RW_AS_PSU, CONDITIONAL = "two_stage", "two_stage_wr", "rw_as_psu", "conditional"


def conditional_design(frame: pd.DataFrame, source: str) -> SurveyDesign:
    """The variance *given the sampled kelurahan* (the truth's conditioning): each sampled kelurahan a stratum of
    its own, its sampled RWs the PSUs, its RW count ``n_rw_kelurahan`` the fpc (the second-stage term of a
    two-stage variance, Sarndal, Swensson & Wretman 1992 sec. 4.3; the first stage held fixed). A diagnostic of
    the harness, not a published design: it leaves out the between-kelurahan variance a kota or city estimate
    has over repeated first-stage draws."""
    return SurveyDesign(frame, "weight", strata="kode_kemendagri", psu="psu", fpc="n_rw_kelurahan", source=source)


def reference_estimates(households: pd.DataFrame, persons: pd.DataFrame, margins: est_mod.PopulationMargins | None,
                        design: str = TWO_STAGE, indicator_ids=None) -> pd.DataFrame:
    """The published city and kota rows of ``estimates.compute`` (same raking and Korn-Graubard interval with
    domain df) without its kelurahan and domain rows, under ``design``: ``TWO_STAGE`` the kelurahan-stage design
    of the build (``estimates.survey_design``), ``TWO_STAGE_WR`` the same with its first stage with replacement
    (``estimates.WITH_REPLACEMENT``, the published form before the Brewer first stage), ``RW_AS_PSU`` the RW-as-PSU design (``estimates.rw_design``) it
    replaced, ``CONDITIONAL`` the variance given the sampled kelurahan (``conditional_design``).
    Columns: indicator_id, level, area_code, estimate, se, ci_low, ci_high, df."""
    frames = {ind.HOUSEHOLD: est_mod.household_frame(households)}
    if persons is not None and len(persons):
        frames[ind.PERSON] = est_mod.with_calibration_band(persons)
    make = {TWO_STAGE: est_mod.survey_design, RW_AS_PSU: est_mod.rw_design, CONDITIONAL: conditional_design,
            TWO_STAGE_WR: lambda f, source: est_mod.survey_design(f, source, first_stage=est_mod.WITH_REPLACEMENT)}[design]
    designs = {unit: make(f, ind.SOURCE_TABLE[unit]) for unit, f in frames.items()}
    if margins is not None and ind.PERSON in designs:
        designs[ind.PERSON] = est_mod.rake_persons(designs[ind.PERSON], margins)
    parts = []
    for indicator in ind.REGISTRY:
        if indicator.unit not in frames or (indicator_ids is not None and indicator.indicator_id not in indicator_ids):
            continue
        y, universe = indicator.values(frames[indicator.unit])
        d = designs[indicator.unit]
        run = d.prop if indicator.measure == ind.PROPORTION else d.mean
        extra = {"ci": est_mod.PROPORTION_CI} if indicator.measure == ind.PROPORTION else {}
        for level, by in (("city", None), ("kota", est_mod.KOTA)):
            res = run(y, by=by, where=universe, suppress=True, df="domain", **extra)
            res = res.rename(columns={est_mod.KOTA: "area_code"}) if by else res.assign(area_code=CITY_CODE)
            parts.append(res.assign(indicator_id=indicator.indicator_id, level=level, area_code=res["area_code"].astype(str)))
    return pd.concat(parts, ignore_index=True)[["indicator_id", "level", "area_code", "estimate", "se", "ci_low", "ci_high", "df"]]


RAW_SUFFIX = " (not raked)"
RW_DESIGN_SUFFIX = " (RW-as-PSU design)"
WR_FIRST_STAGE_SUFFIX = " (first stage with replacement)"
WHOLE_CENSUS_SUFFIX = " (census of the whole population)"
CONDITIONAL_SUFFIX = " (given the sampled kelurahan)"
TWO_STAGE_REFERENCE_SUFFIX = " (two-stage reference SE)"


def replicate_coverage(rep: Replicate, covariates: pd.DataFrame | None, seed_holdout: int | None = None, rake: bool = True,
                       variants: bool = False, truth: str = WHOLE_TRUTH, models: bool = True) -> pd.DataFrame:
    """One row per interval with a truth: type, seed, cluster (kelurahan; the kota or city code for the
    ``city_direct`` / ``kota_direct`` rows), indicator_id, covered, width.

    ``rake`` (default): the build's published pipeline, person weights raked (``estimates.rake_persons``) to the
    synthetic population's own totals (``rep.margins``, ``synthetic_margins``) for the estimates, and the raked
    weights (``estimates.calibrated_persons``) for the gaps, small-area estimates and models; ``rake=False`` the
    design weights throughout. ``variants``: also the city and kota rows under the RW-as-PSU design
    (``RW_DESIGN_SUFFIX``) and with the variance given the sampled kelurahan (``CONDITIONAL_SUFFIX``) and the gaps with the two-stage reference SE (``TWO_STAGE_REFERENCE_SUFFIX``;
    ``gaps.REFERENCE_VARIANCES``), on the same replicate.

    ``truth``: the city and kota truth (``reference_truth``) of the city, kota and gap rows, and the raking totals
    that go with it: ``WHOLE_TRUTH`` (default) the whole synthetic population's (``rep.margins``),
    ``CONDITIONAL_TRUTH`` the sampled kelurahan's weighted by ``1 / pi_kelurahan`` (``rep.conditional_margins``;
    types suffixed ``CONDITIONAL_TRUTH_SUFFIX``). With the whole truth and ``covariates`` also the small-area
    intervals and modelled gaps of the frame's truly unsampled kelurahan (``sae_unsampled_frame``,
    ``gap_modelled_frame``). ``models=False`` leaves out the model rows (their truth is ``rep.census`` whatever
    ``truth`` says; with ``variants`` also against ``rep.census_whole``, ``WHOLE_CENSUS_SUFFIX``)."""
    ids = set(TRUTH_INDICATORS.values())
    kel = kelurahan_truth(rep)
    truth_kel = kel.set_index(["indicator_id", "kode_kemendagri"])["value"]
    city_truth, kota_truth = reference_truth(rep, truth)
    if rep.frame_truth is not None and truth == WHOLE_TRUTH:  # the frame's unsampled kelurahan have a truth too
        whole_kel = rep.frame_truth.set_index(["indicator_id", "kode_kemendagri"])["value"]
        truth_kel = pd.concat([truth_kel, whole_kel[~whole_kel.index.isin(truth_kel.index)]])
    margins = (rep.margins if truth == WHOLE_TRUTH else rep.conditional_margins) if rake else None
    persons = est_mod.calibrated_persons(rep.persons, margins)  # what the stages after the estimates see
    rows = []

    def add(kind, frame, lo="ci_low", hi="ci_high", truth=None):
        frame = frame.assign(_t=truth).dropna(subset=["_t", lo, hi])
        rows.append(pd.DataFrame({"type": kind, "seed": rep.seed, "cluster": frame["kode_kemendagri"].to_numpy(),
                                  "indicator_id": frame["indicator_id"].to_numpy(),
                                  "covered": _covered(frame[lo], frame[hi], frame["_t"]),
                                  "width": (frame[hi] - frame[lo]).to_numpy(dtype=float)}))

    published = est_mod.compute(rep.households, rep.persons, suppress=True, indicator_ids=ids, margins=margins)
    kel_pub = published[published["level"] == "kelurahan"].rename(columns={"area_code": "kode_kemendagri"})
    add("direct", kel_pub, truth=pd.MultiIndex.from_frame(kel_pub[["indicator_id", "kode_kemendagri"]]).map(truth_kel.get))

    def add_reference(kind, table):
        table = table[table["level"].isin(["city", "kota"])].rename(columns={"area_code": "kode_kemendagri"})
        ref_truth = pd.MultiIndex.from_frame(table[["indicator_id", "kode_kemendagri"]]).map(
            lambda key: city_truth.get(key) if key[1] == CITY_CODE else kota_truth.get(key))
        for level in ("city", "kota"):
            m = (table["level"] == level).to_numpy()
            add(f"{level}_direct{kind}", table[m], truth=np.asarray(ref_truth, dtype=float)[m])

    add_reference("", published[published["domain_var"].isna()])
    if variants:
        add_reference(RW_DESIGN_SUFFIX, reference_estimates(rep.households, rep.persons, margins, RW_AS_PSU, indicator_ids=ids))
        add_reference(WR_FIRST_STAGE_SUFFIX, reference_estimates(rep.households, rep.persons, margins, TWO_STAGE_WR, indicator_ids=ids))
        add_reference(CONDITIONAL_SUFFIX, reference_estimates(rep.households, rep.persons, margins, CONDITIONAL, indicator_ids=ids))

    def add_gaps(g, suffix=""):
        g = g[g["method"] == gaps_mod.DIRECT]
        kel_value = pd.MultiIndex.from_frame(g[["indicator_id", "kode_kemendagri"]]).map(truth_kel.get).to_numpy(dtype=float)
        ref = np.where(g["vs"] == "city", pd.MultiIndex.from_arrays([g["indicator_id"], pd.Series("31", index=g.index)]).map(city_truth.get).to_numpy(dtype=float),
                       pd.MultiIndex.from_arrays([g["indicator_id"], g["reference_code"]]).map(kota_truth.get).to_numpy(dtype=float))
        gap_truth = kel_value - ref
        for vs in ("kota", "city"):
            m = (g["vs"] == vs).to_numpy()
            add(f"gap_{vs}{suffix}", g[m], truth=gap_truth[m])
        return g

    g = add_gaps(gaps_mod.compute(rep.households, persons, published, indicator_ids=ids))
    if variants:
        other = next(v for v in gaps_mod.REFERENCE_VARIANCES if v != gaps_mod.REFERENCE_VARIANCE)
        add_gaps(gaps_mod.compute(rep.households, persons, published, indicator_ids=ids, reference_variance=other),
                 TWO_STAGE_REFERENCE_SUFFIX if other == gaps_mod.TWO_STAGE else " (RW reference SE)")

    if covariates is not None:
        direct = est_mod.compute(rep.households, persons, suppress=False, indicator_ids=ids)
        if sae_mod.KELURAHAN_STAGE_VARIANCE:
            direct = gaps_mod.kelurahan_stage_se(direct, rep.households, persons)
        kota_of = dict(zip(covariates["kode_kemendagri"], covariates["kode_kemendagri"].str[:5]))
        kota_of.update(rep.kota_of.to_dict())
        sae = sae_mod.compute(direct, covariates, published, indicator_ids=sorted(ids), kota_of=kota_of)
        sampled = sae[sae["kind"] == "composite"]
        add("sae_sampled", sampled, truth=pd.MultiIndex.from_frame(sampled[["indicator_id", "kode_kemendagri"]]).map(truth_kel.get))
        rng = np.random.default_rng(rep.seed if seed_holdout is None else seed_holdout)
        codes = np.array(sorted(rep.pi_kelurahan.index))
        held = set(rng.choice(codes, max(1, int(round(HOLDOUT_SHARE * len(codes)))), replace=False))
        drop = (direct["level"] == "kelurahan") & direct["area_code"].isin(held)
        out = sae_mod.compute(direct[~drop], covariates, None, indicator_ids=sorted(ids), kota_of=kota_of)
        out = out[out["kode_kemendagri"].isin(held)]
        add("sae_unsampled", out, truth=pd.MultiIndex.from_frame(out[["indicator_id", "kode_kemendagri"]]).map(truth_kel.get))
        mg = sae_mod.modelled_gaps(out, g.iloc[:0], published)
        mg = mg.assign(reference_code=np.where(mg["vs"] == "kota", mg["kode_kemendagri"].map(rep.kota_of), "31"))
        ref = np.where(mg["vs"] == "city", pd.MultiIndex.from_arrays([mg["indicator_id"], pd.Series("31", index=mg.index)]).map(city_truth.get).to_numpy(dtype=float),
                       pd.MultiIndex.from_arrays([mg["indicator_id"], mg["reference_code"]]).map(kota_truth.get).to_numpy(dtype=float))
        add("gap_modelled", mg, truth=pd.MultiIndex.from_frame(mg[["indicator_id", "kode_kemendagri"]]).map(truth_kel.get).to_numpy(dtype=float) - ref)
        if rep.frame_truth is not None and truth == WHOLE_TRUTH:
            frame_out = sae[(sae["kind"] == "synthetic") & ~sae["kode_kemendagri"].isin(rep.pi_kelurahan.index)]
            add("sae_unsampled_frame", frame_out, truth=pd.MultiIndex.from_frame(frame_out[["indicator_id", "kode_kemendagri"]]).map(truth_kel.get))
            fg = sae_mod.modelled_gaps(frame_out, g.iloc[:0], published)
            fg = fg.assign(reference_code=np.where(fg["vs"] == "kota", fg["kode_kemendagri"].str[:5], CITY_CODE))
            ref = np.where(fg["vs"] == "city", pd.MultiIndex.from_arrays([fg["indicator_id"], pd.Series(CITY_CODE, index=fg.index)]).map(city_truth.get).to_numpy(dtype=float),
                           pd.MultiIndex.from_arrays([fg["indicator_id"], fg["reference_code"]]).map(kota_truth.get).to_numpy(dtype=float))
            add("gap_modelled_frame", fg, truth=pd.MultiIndex.from_frame(fg[["indicator_id", "kode_kemendagri"]]).map(truth_kel.get).to_numpy(dtype=float) - ref)
    if rep.census is not None and models:
        rows.extend(model_coverage(rep, persons=persons))
        if variants and rep.census_whole is not None:
            for part in model_coverage(rep, persons=persons, census=rep.census_whole):
                rows.append(part.assign(type=part["type"] + WHOLE_CENSUS_SUFFIX))
    out = pd.concat(rows, ignore_index=True)
    if truth != WHOLE_TRUTH:
        out = out.assign(type=out["type"] + CONDITIONAL_TRUTH_SUFFIX)
    return out if rake else out.assign(type=out["type"] + RAW_SUFFIX)


def census_contrasts(census: dict, reference: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The census odds ratios and AMEs with the kota terms re-expressed against ``reference``: a change of
    treatment coding leaves the fitted model unchanged, so the log odds ratio of kota ``k`` against ``r`` is
    ``b_k - b_r`` and its AME ``AME_k - AME_r`` (both against the census fit's own reference, which counts 0)."""
    ors, ames = census["odds_ratios"].copy(), census["marginal_effects"].copy()
    own = ors.loc[ors["variable"] == "kota", "reference"]
    if own.empty or own.iloc[0] == reference:
        return ors, ames
    own = own.iloc[0]
    b = ors[ors["variable"] == "kota"].set_index("level")["coef"].to_dict() | {own: 0.0}
    a = ames[ames["variable"] == "kota"].set_index("level")["ame"].to_dict() | {own: 0.0}
    kota_or = pd.DataFrame({"term": [f"kota[{k}]" for k in b if k != reference], "variable": "kota",
                            "level": [k for k in b if k != reference], "reference": reference})
    kota_or["coef"] = kota_or["level"].map(b) - b[reference]
    kota_or["odds_ratio"] = np.exp(kota_or["coef"])
    kota_ame = pd.DataFrame({"variable": "kota", "level": [k for k in a if k != reference], "reference": reference})
    kota_ame["ame"] = kota_ame["level"].map(a) - a[reference]
    return (pd.concat([ors[ors["variable"] != "kota"], kota_or], ignore_index=True),
            pd.concat([ames[ames["variable"] != "kota"], kota_ame], ignore_index=True))


def model_coverage(rep: Replicate, inference: str | None = None, kota_reference=None, persons: pd.DataFrame | None = None,
                   census: dict | None = None) -> list[pd.DataFrame]:
    """Odds-ratio and AME intervals of the persons' internet-use model against their census values, by the
    published inference method and kota reference (``models.PUBLISHED_INFERENCE``, ``PUBLISHED_KOTA_REFERENCE``)
    unless told otherwise: ``inference=logit.PLAIN, kota_reference=FIRST_KOTA`` is the model before issue 12 (R
    svyglm's df and coding), measured on the same replicates. ``persons``: the persons to fit on (the raked
    ones of the published pipeline; default the design-weighted ``rep.persons``). ``census``: the census
    parameters to cover (default ``rep.census``, the sampled kelurahan weighted by ``1 / pi_kelurahan``;
    ``rep.census_whole`` the whole synthetic population's)."""
    from analysis.stats import models

    spec = models.MODELS[0]
    frame = models.model_frame(spec, None, rep.persons if persons is None else persons)
    reference = models.PUBLISHED_KOTA_REFERENCE if kota_reference is None else (None if kota_reference == FIRST_KOTA else kota_reference)
    fit = models.fit_survey_logit(frame, spec.terms, inference=inference or models.PUBLISHED_INFERENCE, kota_reference=reference)
    kota_ref = next(t.reference for t in fit.terms if t.column == "kota")
    census_or, census_ame = census_contrasts(rep.census if census is None else census, kota_ref)
    if set(census_or["term"]) != set(fit.names) - {"intercept"}:
        raise ValueError(f"census and survey models have different terms: {sorted(set(census_or['term']) ^ (set(fit.names) - {'intercept'}))}")
    out = []
    for kind, table, value, key in (("model_coefficient", models.odds_ratios(spec.model_id, fit), "odds_ratio", "term"),
                                    ("marginal_effect", models.marginal_effects(spec.model_id, fit), "ame", None)):
        census = census_or if kind == "model_coefficient" else census_ame
        on = [key] if key else ["variable", "level"]
        j = table.merge(census[on + [value]].rename(columns={value: "_t"}), on=on)
        label = j[key] if key else j["variable"] + "=" + j["level"]
        out.append(pd.DataFrame({"type": kind, "seed": rep.seed, "cluster": label.to_numpy(), "indicator_id": spec.model_id,
                                 "covered": _covered(j["ci_low"], j["ci_high"], j["_t"]),
                                 "width": (j["ci_high"] - j["ci_low"]).to_numpy(dtype=float)}))
    return out


def summarise(cov: pd.DataFrame, nominal: float = 0.95) -> pd.DataFrame:
    """Per type: intervals, clusters, coverage and its cluster-robust Monte Carlo SE (clusters = seed x kelurahan),
    mean width."""
    out = []
    for kind, d in cov.groupby("type", sort=False):
        c = d["covered"].astype(float)
        key = d["seed"].astype(str) + "/" + d["cluster"].astype(str)
        s = c.groupby(key).sum()
        n = c.groupby(key).size()
        p = float(c.mean())
        G = len(s)
        se = float(np.sqrt(G / max(G - 1, 1) * np.sum((s - p * n) ** 2)) / n.sum()) if G > 1 else np.nan
        out.append({"type": kind, "intervals": len(d), "clusters": G, "coverage": p, "mc_se": se, "mean_width": float(d["width"].mean())})
    res = pd.DataFrame(out)
    # each type's variants (" (not raked)", ...) after it, in TYPES order
    base = res["type"].map(lambda t: next((k for k, b in enumerate(TYPES) if t == b or t.startswith(b + " (")), len(TYPES)))
    res = res.assign(_b=base, _v=~res["type"].isin(TYPES))
    return res.sort_values(["_b", "_v", "type"], kind="mergesort").drop(columns=["_b", "_v"]).reset_index(drop=True)


def run(inputs: Inputs, seeds, households: int = 4000, kelurahan: int = 80) -> pd.DataFrame:
    """Coverage rows of every replicate."""
    return pd.concat([replicate_coverage(replicate(inputs, s, households, kelurahan), inputs.covariates) for s in seeds], ignore_index=True)


def proportion_ids() -> list[str]:
    return [i.indicator_id for i in ind.REGISTRY if i.measure == ind.PROPORTION]


# --- quantile intervals (Woodruff 1952): the quota-spending table, kept apart from the other interval types ----

QUANTILE_TYPE = "quantile"


def quantile_truth(inputs: Inputs, seed: int, households: int = 4000, kelurahan: int = 80) -> pd.DataFrame:
    """True quartiles of monthly quota spending among households buying mobile data, for the city and each kota:
    the weighted quantile (R ``qrule = "math"``) of the full synthetic population of the sampled kelurahan,
    weighted by ``1 / pi_kelurahan`` (the generator's ``city_truth_weighted`` definition, as for the rates).
    The population is rebuilt with the generator's own public functions and random stream, in the order
    ``generate`` draws it (as ``census_model`` does). Columns: area_code, quantile, value."""
    from analysis.stats import quantiles as quantiles_mod
    from analysis.stats.design import weighted_quantile
    from analysis.survey import design as design_mod
    from analysis.survey.generate import build_population

    rng = np.random.default_rng(seed)
    frame = design_mod.kelurahan_frame(inputs.register, inputs.covariates)
    sample, rw = design_mod.select_sample(frame, design_mod.DesignSpec(households=households, n_kelurahan=kelurahan), rng)
    pop = build_population(sample, rw, frame, rng)
    hh = pop.hh
    spend = np.asarray(hh["quota"], dtype=float)
    buyers = spend > 0
    kota = pop.kel["kode_kab_kemendagri"].astype(str).to_numpy()[hh["kel"]]
    rows = []
    for code in ["31", *sorted(set(kota[buyers]))]:
        inside = buyers & ((kota == code) if code != "31" else True)
        values = weighted_quantile(spend[inside], np.asarray(hh["w_city"], dtype=float)[inside], quantiles_mod.PROBABILITIES)
        rows.extend({"area_code": code, "quantile": p, "value": v} for p, v in zip(quantiles_mod.PROBABILITIES, values))
    return pd.DataFrame(rows)


def quantile_coverage(rep: Replicate, truth: pd.DataFrame) -> pd.DataFrame:
    """Coverage rows (as ``replicate_coverage``'s) of the published quota-spending quartile intervals
    (``analysis.stats.quantiles.spending_quantiles``, Woodruff) against ``quantile_truth``; clusters are the areas."""
    from analysis.stats import quantiles as quantiles_mod

    frame = est_mod.household_frame(rep.households)
    published = quantiles_mod.spending_quantiles(est_mod.survey_design(frame, "survey_households"), frame)
    j = published.merge(truth.astype({"area_code": str}), on=["area_code", "quantile"]).dropna(subset=["ci_low", "ci_high"])
    return pd.DataFrame({"type": QUANTILE_TYPE, "seed": rep.seed, "cluster": j["area_code"].astype(str).to_numpy(),
                         "indicator_id": quantiles_mod.VARIABLE, "covered": _covered(j["ci_low"], j["ci_high"], j["value"]),
                         "width": (j["ci_high"] - j["ci_low"]).to_numpy(dtype=float)})


def quantile_run(inputs: Inputs, seeds, households: int = 4000, kelurahan: int = 80) -> pd.DataFrame:
    """Quantile coverage rows of every seed (``summarise`` them): the benchmark form of the quantile entry."""
    return pd.concat([quantile_coverage(replicate(inputs, s, households, kelurahan), quantile_truth(inputs, s, households, kelurahan))
                      for s in seeds], ignore_index=True)
