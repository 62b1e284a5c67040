"""Benchmark: indexed watchlist screening against a brute-force rapidfuzz scan, same run, same data.

Generates (seeded) a 20,000-entry synthetic watchlist of Latin and transliterated-Cyrillic
names (individuals as "SURNAME, Given Patronymic", companies with legal forms, some
aliases in Cyrillic script) and 10,000 query names: exact names, perturbed names (one typo,
token reordering, legal forms added or dropped, Cyrillic spelling) and a majority of
non-listed names built from the same vocabulary (the realistic, expensive case for a
token index). Prints names/s of both, the speed-up, median latency and the recall of the
index against the full scan on a sample.

    python benchmarks/screening.py [--entries 20000] [--queries 10000] [--sample 200]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.screening import Screener, ScreeningResult, name_tokens
from engine.watchlists import Watchlist, WatchlistEntry

ONSETS = ["b", "v", "g", "d", "zh", "z", "k", "l", "m", "n", "p", "r", "s", "t", "f", "kh",
          "ts", "ch", "sh", "gr", "kr", "pr", "st", "tr", "sv", "br", "dr", "sk"]
VOWELS = ["a", "o", "e", "i", "u", "y", "ya", "yu"]
SURNAME_ENDINGS = ["ov", "ev", "in", "enko", "sky", "ovich", "ik", "uk", "yan", "adze"]
GIVEN = ["Aleksandr", "Sergei", "Dmitry", "Andrei", "Alexei", "Vladimir", "Igor", "Yury",
         "Mikhail", "Nikolai", "Pavel", "Oleg", "Viktor", "Yevgeny", "Konstantin", "Boris",
         "Gennady", "Arkady", "Denis", "Maxim", "Roman", "Ivan", "Anton", "Timur", "Ruslan",
         "Anna", "Elena", "Olga", "Natalya", "Irina", "Tatiana", "Svetlana", "Marina",
         "Ahmad", "Mohammad", "Ali", "Hassan", "Reza", "Hossein", "Kim", "Jong", "Chol",
         "Wei", "Li", "Zhang", "Chen", "Hamid", "Farid", "Karim", "Omar"]
PATRONYMIC_ENDINGS = ["ovich", "evich", "ovna", "evna"]
WORDS = ["Trading", "Industrial", "Technologies", "Engineering", "Systems", "Energy",
         "Logistics", "Shipping", "Investment", "Holding", "Group", "Bank", "Capital",
         "Finance", "Space", "Aerospace", "Defense", "Electronics", "Machine", "Building",
         "Research", "Institute", "Plant", "Factory", "Instruments", "Chemical", "Metals",
         "Mining", "Oil", "Gas", "Petroleum", "Marine", "Aviation", "Motors", "Semiconductor",
         "Telecom", "Software", "Precision", "Optics", "Radio", "Nuclear", "Rocket",
         "International", "General", "United", "National", "Northern", "Eastern", "Global",
         "Ural", "Siberian", "Volga", "Baltic", "Moscow", "Tehran", "Pyongyang", "Dubai",
         "Hong", "Kong", "Shenzhen", "Al", "Noor", "Pars", "Kish", "Star", "Alpha", "Delta"]
LEGAL = ["LLC", "OOO", "AO", "JSC", "PJSC", "Ltd", "Limited", "Co., Ltd.", "GmbH", "FZE",
         "Company", "Corp", "Inc", "OAO", "ZAO"]
PROGRAMS = ["RUSSIA-EO14024", "UKRAINE-EO13662", "UKRAINE-EO13661", "IRAN", "NPWMD", "SDGT",
            "DPRK3", "CYBER2"]
TO_CYRILLIC = [("shch", "щ"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"), ("ch", "ч"), ("sh", "ш"),
               ("ya", "я"), ("yu", "ю"), ("a", "а"), ("b", "б"), ("v", "в"), ("g", "г"),
               ("d", "д"), ("e", "е"), ("z", "з"), ("i", "и"), ("y", "ы"), ("k", "к"),
               ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"), ("p", "п"), ("r", "р"),
               ("s", "с"), ("t", "т"), ("u", "у"), ("f", "ф"), ("h", "х"), ("c", "к"),
               ("x", "кс"), ("w", "в"), ("j", "й"), ("q", "к")]


def brand(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(ONSETS) + rng.choice(VOWELS) for _ in range(syllables))


def surname(rng: random.Random) -> str:
    return (brand(rng, rng.randint(1, 3)) + rng.choice(SURNAME_ENDINGS)).capitalize()


def person(rng: random.Random) -> str:
    father = rng.choice(GIVEN[:25]).rstrip("aiy")
    return f"{surname(rng).upper()}, {rng.choice(GIVEN)} {father}{rng.choice(PATRONYMIC_ENDINGS)}"


def company(rng: random.Random) -> str:
    words = [brand(rng, rng.randint(2, 4)).capitalize()] if rng.random() < 0.8 else []
    words += rng.sample(WORDS, rng.randint(1, 3))
    rng.shuffle(words)
    form = rng.choice(LEGAL)
    return f"{' '.join(words)} {form}" if rng.random() < 0.6 else f"{form} {' '.join(words)}"


def cyrillic(name: str) -> str:
    out = name.lower()
    for latin, cyr in TO_CYRILLIC:
        out = out.replace(latin, cyr)
    return out.title()


def typo(rng: random.Random, name: str) -> str:
    """One edit (substitution, deletion, insertion or transposition) in one token of 5+ letters."""
    tokens = name.split()
    longest = [i for i, t in enumerate(tokens) if sum(c.isalpha() for c in t) >= 5]
    if not longest:
        return name
    i = rng.choice(longest)
    t = tokens[i]
    p = rng.randrange(1, len(t) - 1)
    op = rng.choice(("sub", "del", "ins", "swap"))
    letter = rng.choice("aeiouklmnrst")
    if op == "sub":
        t = t[:p] + letter + t[p + 1:]
    elif op == "del":
        t = t[:p] + t[p + 1:]
    elif op == "ins":
        t = t[:p] + letter + t[p:]
    else:
        t = t[:p - 1] + t[p] + t[p - 1] + t[p + 1:]
    tokens[i] = t
    return " ".join(tokens)


def perturb(rng: random.Random, name: str) -> str:
    kind = rng.choice(("typo", "reorder", "legal", "cyrillic", "case"))
    if kind == "typo":
        return typo(rng, name)
    if kind == "reorder":
        tokens = name.replace(",", "").split()
        rng.shuffle(tokens)
        return " ".join(tokens)
    if kind == "legal":
        return f"{rng.choice(LEGAL)} {name.replace(',', '')}"
    if kind == "cyrillic":
        return cyrillic(name)
    return name.lower()


def build(rng: random.Random, n_entries: int,
          n_queries: int) -> tuple[Watchlist, list[str], list[str]]:
    """The watchlist, the query names and each query's kind (exact, perturbed, unlisted)."""
    entries = []
    for i in range(n_entries):
        individual = rng.random() < 0.45
        name = person(rng) if individual else company(rng)
        aliases = []
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
            aliases.append(perturb(rng, name) if rng.random() < 0.5 else
                           (person(rng) if individual else company(rng)))
        entries.append(WatchlistEntry(
            id=str(100_000 + i), name=name, aliases=tuple(dict.fromkeys(aliases)),
            type="individual" if individual else "entity",
            programs=tuple(rng.sample(PROGRAMS, rng.randint(1, 2))), countries=("RU",)))
    watchlist = Watchlist("synthetic", tuple(entries))
    queries, kinds = [], []
    for _ in range(n_queries):
        r = rng.random()
        entry = rng.choice(entries)
        listed = rng.choice((entry.name, *entry.aliases))
        if r < 0.10:
            queries.append(listed)
            kinds.append("exact")
        elif r < 0.25:
            queries.append(perturb(rng, listed))
            kinds.append("perturbed")
        else:
            queries.append(person(rng) if rng.random() < 0.4 else company(rng))
            kinds.append("unlisted")
    return watchlist, queries, kinds


def timed(screen: object, names: list[str]) -> tuple[list[ScreeningResult], list[float]]:
    """Results and per-name CPU seconds of this process: on a shared machine, wall-clock time
    would measure the neighbours as much as the screener."""
    results, latencies = [], []
    for name in names:
        start = time.process_time()
        results.append(screen(name))  # type: ignore[operator]
        latencies.append(time.process_time() - start)
    return results, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--threshold", type=float, default=88)
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    watchlist, queries, kinds = build(rng, args.entries, args.queries)
    start = time.process_time()
    screener = Screener([watchlist], args.threshold)
    build_s = time.process_time() - start
    tracemalloc.start()
    Screener([watchlist], args.threshold)
    index_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(f"watchlist: {len(watchlist.entries):,} entries, {len(screener):,} name variants; "
          f"index built in {build_s:.2f} CPU s, peak {index_mb:.0f} MiB while building")

    name_tokens.cache_clear()
    indexed, lat = timed(lambda q: screener.screen([q]), queries)
    total = sum(lat)
    print("times are CPU time of this process")
    print(f"indexed:     {len(queries):,} names in {total:.2f} s = "
          f"{len(queries) / total:,.0f} names/s; median {statistics.median(lat) * 1e3:.3f} ms, "
          f"p95 {sorted(lat)[int(len(lat) * 0.95)] * 1e3:.3f} ms per name")
    for kind in ("exact", "perturbed", "unlisted"):
        of_kind = [r for r, k in zip(indexed, kinds, strict=True) if k == kind]
        print(f"             {kind}: {sum(r.matched for r in of_kind):,} of {len(of_kind):,} "
              "matched" + (" (unlisted names that happen to collide with listed ones, e.g. "
                           "'Baltic FZE' / 'Baltic Limited')" if kind == "unlisted" else ""))

    sample = rng.sample(range(len(queries)), min(args.sample, len(queries)))
    name_tokens.cache_clear()
    brute, blat = timed(screener.screen_all, [queries[i] for i in sample])
    brute_rate = len(sample) / sum(blat)
    idx_sample_rate = len(sample) / sum(lat[i] for i in sample)
    print(f"brute force: {len(sample)} names in {sum(blat):.2f} s = {brute_rate:,.0f} names/s "
          f"(all {len(queries):,} extrapolated: {len(queries) / brute_rate:.1f} s); "
          f"median {statistics.median(blat) * 1e3:.3f} ms per name")
    print(f"speed-up:    x{(len(queries) / total) / brute_rate:.1f} overall "
          f"(x{idx_sample_rate / brute_rate:.1f} on the sample)")

    def recall(pairs: list[tuple[ScreeningResult, ScreeningResult]]) -> tuple[float, int]:
        positives = [(i, b) for i, b in pairs if b.matched]
        found = sum(i.matched and i.score == b.score for i, b in positives)
        return (found / len(positives) if positives else 1.0), len(positives)

    sample_recall, n_pos = recall([(indexed[i], b) for i, b in zip(sample, brute, strict=True)])
    same_best = sum(indexed[i].score == b.score for i, b in zip(sample, brute, strict=True))
    print(f"recall:      {sample_recall:.3f} of {n_pos} brute-force matches in the sample "
          f"(same best score on {same_best}/{len(sample)} sample names, non-matches included)")

    # A tighter recall figure: every query the full scan matches, among 500 perturbed ones.
    hard = [perturb(rng, rng.choice((e.name, *e.aliases)))
            for e in rng.sample(watchlist.entries, 500)]
    pairs = [(screener.screen([q]), screener.screen_all(q)) for q in hard]
    hard_recall, n_hard = recall(pairs)
    print(f"recall:      {hard_recall:.3f} of {n_hard} brute-force matches among 500 "
          f"perturbed listed names (typo, reordering, legal form, Cyrillic, case)")


if __name__ == "__main__":
    main()
