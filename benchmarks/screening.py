"""Benchmark: screening at full size, on the real OFAC SDN files plus a generated list.

Loads the real OFAC SDN files from the shared data directory beside the checkout (sdn.csv +
alt.csv + add.csv, about 15,000 entries and 17,500 aliases), adds a seeded generated list of
Latin and transliterated-Cyrillic names to reach `--entries` entries (default 30,000) with
aliases, and prints:

* a host reference (CPU time of a fixed workload, measured in the same run): latencies are
  also given as ratios to it, so runs on a loaded or quieter host compare;
* index build time, the on-disk index (marshal) size, its load time;
* with `--pack-load`, the wall and CPU time of `engine.load_pack` on the bundled pack with
  these lists added, in a fresh process: first with an empty index cache (build and store),
  then with the cache filled (what a worker, a reload or `riskrules check` pays), against
  the bundled pack alone in the same run;
* screening latency per name never seen before (median, p95, p99, CPU time of this process,
  cyclic GC frozen after the build as the server does), for listed variants and for
  unlisted names;
* recall on a generated variant corpus (a typo, reordered tokens, an added word, Cyrillic
  lookalikes, Cyrillic script, zero-width characters, letters spaced out, an initial for a
  person's given name): share found
  (match or possible) and the share the index agrees with a full scan on;
* the false-positive rate on a corpus of unlisted company and person names (match, and
  match or possible);
* with `--workers N`, the memory of N worker processes forked after the index was loaded
  (as gunicorn's master does, `engine.pack.warm_screening`), from /proc/PID/smaps_rollup:
  USS (Private_Clean + Private_Dirty: what one more worker adds) and PSS (shared pages
  divided among the processes sharing them), when idle and after `--worker-queries` new
  names each, against a worker that reads its own copy of the index from the cache bytes.

    python benchmarks/screening.py [--entries 30000] [--queries 3000] [--sample 300]
                                   [--workers 3 --worker-queries 300] [--pack-load]
"""

from __future__ import annotations

import argparse
import gc
import json
import marshal
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rapidfuzz import fuzz

from engine.screening import names as names_module
from engine.screening.listformats import load_ofac_sdn
from engine.screening.screener import Screener, ScreeningResult, name_readings, name_tokens
from engine.screening.watchlists import Watchlist, WatchlistEntry, write_watchlist

REPO = Path(__file__).resolve().parents[1]
OFAC = REPO.parent / "shared" / "data" / "ofac-sdn"

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
WORDS = ["Trading", "Industrial", "Technologies", "Engineering", "Systems", "Energy",
         "Logistics", "Shipping", "Investment", "Holding", "Group", "Bank", "Capital",
         "Finance", "Aerospace", "Electronics", "Machine", "Research", "Plant", "Instruments",
         "Chemical", "Metals", "Mining", "Marine", "Aviation", "Motors", "Precision",
         "International", "General", "United", "National", "Northern", "Global", "Ural",
         "Siberian", "Volga", "Baltic", "Star", "Alpha", "Delta"]
LEGAL = ["LLC", "OOO", "AO", "JSC", "PJSC", "Ltd", "Limited", "GmbH", "FZE", "Inc"]
PROGRAMS = ["RUSSIA-EO14024", "UKRAINE-EO13662", "IRAN", "NPWMD", "SDGT", "DPRK3"]
LOOKALIKE = dict(zip("ABCEHKMOPTXYaceopxy", "АВСЕНКМОРТХУасеорху", strict=True))
TO_CYRILLIC = [("shch", "щ"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"), ("ch", "ч"), ("sh", "ш"),
               ("ya", "я"), ("yu", "ю"), ("a", "а"), ("b", "б"), ("v", "в"), ("g", "г"),
               ("d", "д"), ("e", "е"), ("z", "з"), ("i", "и"), ("y", "ы"), ("k", "к"),
               ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"), ("p", "п"), ("r", "р"),
               ("s", "с"), ("t", "т"), ("u", "у"), ("f", "ф"), ("h", "х"), ("c", "к"),
               ("x", "кс"), ("w", "в"), ("j", "й"), ("q", "к")]
# Unlisted names: real-world companies and people unrelated to any sanctions list.
UNLISTED_COMPANIES = [
    "Tesla Inc", "Space Exploration Technologies Corp", "Bank of America", "Deutsche Bank AG",
    "Tata Consultancy Services", "Infosys Limited", "Naspers Limited", "Vale S.A.",
    "Bharat Electronics", "Shanghai Pudong Development Bank", "Standard Bank Group",
    "Petrobras", "Embraer", "Siemens AG", "Airbus SE", "Toyota Motor Corporation",
    "Samsung Electronics", "Tencent Holdings", "Alibaba Group", "Reliance Industries",
    "Mahindra and Mahindra", "Wipro Limited", "Sasol Limited", "MTN Group",
    "Banco do Brasil", "Itau Unibanco", "BYD Company", "CATL", "Lenovo Group", "Xiaomi",
    "Nestle SA", "Unilever PLC", "Shell plc", "BP plc", "TotalEnergies SE", "Enel SpA",
    "Iberdrola", "ABB Ltd", "Schneider Electric", "Thales Group", "Safran", "Dassault",
    "Rolls-Royce Holdings", "BAE Systems", "Leonardo SpA", "Saab AB", "Ericsson", "Nokia",
    "Orange SA", "Vodafone Group", "Telefonica", "America Movil", "Grupo Bimbo", "Cemex",
    "Femsa", "Ambev", "Natura", "Magazine Luiza", "Mercado Libre", "Nubank",
]
UNLISTED_PEOPLE_GIVEN = ["John", "Maria", "Priya", "Wei", "Carlos", "Fatima", "Hans", "Yuki",
                         "Olumide", "Sofia", "Lucas", "Aisha", "Chen", "Rahul", "Emma",
                         "Thabo", "Ana", "Kenji", "Lars", "Amara"]
UNLISTED_PEOPLE_FAMILY = ["Smith", "Gonzalez", "Sharma", "Zhang", "Silva", "Haddad",
                          "Mueller", "Tanaka", "Adeyemi", "Rossi", "Costa", "Bello",
                          "Nakamura", "Patel", "Dubois", "Nkosi", "Pereira", "Sato",
                          "Andersen", "Okafor"]
UNLISTED_SUFFIXES = ["Trading", "Logistics", "Consulting", "Software", "Foods", "Textiles",
                     "Solar", "Clinics", "Retail", "Farms"]


def brand(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(ONSETS) + rng.choice(VOWELS) for _ in range(syllables))


def person(rng: random.Random) -> str:
    surname = (brand(rng, rng.randint(1, 3)) + rng.choice(SURNAME_ENDINGS)).upper()
    father = rng.choice(GIVEN[:25]).rstrip("aiy")
    return f"{surname}, {rng.choice(GIVEN)} {father}{rng.choice(('ovich', 'evich', 'ovna'))}"


def company(rng: random.Random) -> str:
    words = [brand(rng, rng.randint(2, 4)).capitalize()]
    words += rng.sample(WORDS, rng.randint(1, 2))
    rng.shuffle(words)
    return f"{' '.join(words)} {rng.choice(LEGAL)}"


def generated(rng: random.Random, count: int) -> Watchlist:
    entries = []
    for i in range(count):
        individual = rng.random() < 0.45
        name = person(rng) if individual else company(rng)
        aliases = tuple(dict.fromkeys(
            person(rng) if individual else company(rng) for _ in range(rng.choice((0, 1, 1, 2)))))
        entries.append(WatchlistEntry(str(900_000 + i), name, aliases,
                                      "individual" if individual else "entity",
                                      tuple(rng.sample(PROGRAMS, 1)), ("RU",)))
    return Watchlist("generated", tuple(entries))


def cyrillic(name: str) -> str:
    out = name.lower()
    for latin, cyr in TO_CYRILLIC:
        out = out.replace(latin, cyr)
    return out.title()


def typo(rng: random.Random, token: str) -> str:
    if len(token) < 5:
        return token
    p = rng.randrange(1, len(token) - 1)
    op = rng.choice(("sub", "del", "ins", "swap"))
    letter = rng.choice("aeiouklmnrst")
    if op == "sub":
        return token[:p] + letter + token[p + 1:]
    if op == "del":
        return token[:p] + token[p + 1:]
    if op == "ins":
        return token[:p] + letter + token[p:]
    return token[:p - 1] + token[p] + token[p - 1] + token[p + 1:]


VARIANTS: dict[str, Callable[[random.Random, str], str]] = {
    "one typo": lambda rng, n: " ".join(typo(rng, t) if i == 0 else t
                                        for i, t in enumerate(sorted(
                                            n.replace(",", " ").split(), key=len,
                                            reverse=True))),
    "reordered": lambda rng, n: " ".join(rng.sample(n.replace(",", " ").split(),
                                                    len(n.replace(",", " ").split()))),
    "word added": lambda rng, n: f"{n.replace(',', '')} {rng.choice(('Branch', 'Office'))}",
    "lookalikes": lambda rng, n: "".join(LOOKALIKE.get(c, c) if rng.random() < 0.5 else c
                                         for c in n),
    "cyrillic script": lambda rng, n: cyrillic(n.replace(",", "")),
    "zero-width": lambda rng, n: "\u200b".join(n),
    "letters spaced out": lambda rng, n: spaced(n),
}


def spaced(name: str) -> str:
    """The name with the letters of its longest word spaced out: "S B E R B A N K of Russia"."""
    words = name.replace(",", " ").split()
    longest: str = max(words, key=len)
    return " ".join(" ".join(longest) if word is longest else word for word in words)


def initial(rng: random.Random, name: str) -> str:
    """A person written with the initial of the given name: "SECHIN, Igor Ivanovich" →
    "I. Sechin" or "Sechin I."."""
    if "," in name:
        family, given = name.split(",", 1)
    else:
        *given_words, family = name.split()
        given = " ".join(given_words)
    if not given.split():
        return name
    letter = given.split()[0][0]
    return f"{letter}. {family.strip()}" if rng.random() < 0.5 else f"{family.strip()} {letter}."


def reference_ms() -> float:
    """CPU milliseconds of a fixed workload of the kind screening does (string building,
    dict and set operations, rapidfuzz calls), median of 7: the host's speed in this run."""
    words = [f"{w}{i}" for i, w in enumerate(WORDS * 50)]
    times = []
    for _ in range(7):
        start = time.process_time()
        seen: dict[str, int] = {}
        for i, word in enumerate(words):
            seen[word[::-1]] = i
            fuzz.ratio(word, words[i - 1])
            _ = {word[:3], word[-3:]} & {word[1:4]}
        times.append(time.process_time() - start)
    return statistics.median(times) * 1e3


def timed(screen: Callable[[str], ScreeningResult], names: list[str], *,
          word_caches: tuple[Any, ...] = ()) -> tuple[list[ScreeningResult], list[float]]:
    """Results and per-name CPU seconds of this process (on a shared machine, wall-clock time
    would measure the neighbours as much as the screener). The name caches are cleared
    first: every name is new. Its words and tokens may have been met before, as in a running
    server, unless `word_caches` are given: those are cleared before each name (untimed)."""
    name_tokens.cache_clear()
    name_readings.cache_clear()
    results, latencies = [], []
    for name in names:
        for cache in word_caches:
            cache.cache_clear()
        start = time.process_time()
        results.append(screen(name))
        latencies.append(time.process_time() - start)
    return results, latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def memory_mib() -> tuple[float, float]:
    """(USS, PSS) of this process in MiB, from /proc/self/smaps_rollup: USS = Private_Clean +
    Private_Dirty (pages no other process shares), PSS = Pss."""
    uss = pss = 0
    with open("/proc/self/smaps_rollup", encoding="ascii") as rollup:
        for line in rollup:
            if line.startswith(("Private_Clean:", "Private_Dirty:")):
                uss += int(line.split()[1])
            elif line.startswith("Pss:"):
                pss += int(line.split()[1])
    return uss / 1024, pss / 1024


def worker_memory(blob: bytes, workers: int, queries: int, rng: random.Random,
                  names: list[str]) -> None:
    """As a server does: a fresh master process reads the index from the cache bytes
    (`engine.pack.warm_screening`), freezes it out of the GC and forks `workers` workers;
    print each one's private memory idle and after screening `queries` new names, and that
    of a worker which reads its own copy of the index instead."""
    batches = [[VARIANTS[rng.choice(list(VARIANTS)[:6])](rng, rng.choice(names))
                for _ in range(queries)] for _ in range(workers + 1)]
    with tempfile.TemporaryDirectory() as directory:
        (Path(directory) / "index").write_bytes(blob)
        (Path(directory) / "names").write_bytes(marshal.dumps(batches))
        subprocess.run([sys.executable, __file__, "--master", directory], check=True)


def master(directory: Path) -> None:
    """The master process of `worker_memory` (run as `--master DIR`)."""
    blob = (directory / "index").read_bytes()
    batches: list[list[str]] = marshal.loads((directory / "names").read_bytes())
    screener = Screener.from_state(marshal.loads(blob))
    gc.collect()
    gc.freeze()
    workers, queries = len(batches) - 1, len(batches[0])
    master_uss, master_pss = memory_mib()
    results: list[tuple[str, float, float, float, float]] = []
    for number, batch in enumerate(batches):
        own_copy = number == workers
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker
            os.close(read)
            index = Screener.from_state(marshal.loads(blob)) if own_copy else screener
            if own_copy:
                gc.collect()
                gc.freeze()
            idle = memory_mib()
            for name in batch:
                index.screen([name])
            os.write(write, json.dumps([*idle, *memory_mib()]).encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as pipe:
            figures = json.loads(pipe.read())
        os.waitpid(pid, 0)
        results.append(("own copy of the index" if own_copy else f"worker {number + 1}",
                        *figures))
    print(f"memory (MiB, /proc/PID/smaps_rollup): master holding the index USS "
          f"{master_uss:.1f}, PSS {master_pss:.1f}; per worker USS (what one more worker "
          f"adds) and PSS, idle / after {queries} new names (its caches, and the shared pages "
          "it wrote to), one worker alive at a time:")
    for label, idle_uss, idle_pss, busy_uss, busy_pss in results:
        print(f"    {label}: USS {idle_uss:.1f} / {busy_uss:.1f}, PSS {idle_pss:.1f} / "
              f"{busy_pss:.1f}")


PACK_LOAD = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
wall, cpu = time.perf_counter(), time.process_time()
from engine import load_pack
pack = load_pack(sys.argv[2])
print(json.dumps([time.perf_counter() - wall, time.process_time() - cpu]))
"""


def pack_load(lists: list[Watchlist]) -> None:
    """Wall and CPU seconds of importing the engine and `load_pack` in a fresh process: the
    bundled pack alone (its index cached), then with `lists` added, with an empty index cache
    and with the cache filled."""
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory) / "pack"
        shutil.copytree(REPO / "rules", root)
        pack_yaml = root / "pack.yaml"
        text = pack_yaml.read_text(encoding="utf-8")
        added = "".join(f"    - watchlists/bench_{w.name}.yaml\n" for w in lists)
        marker = "    - watchlists/sdn_sample.yaml\n"
        for watchlist in lists:
            write_watchlist(watchlist, root / "watchlists" / f"bench_{watchlist.name}.yaml")
        cache = Path(directory) / "cache"
        cache.mkdir(mode=0o700)
        env = {**os.environ, "RISKRULES_INDEX_CACHE_DIR": str(cache)}

        def run() -> tuple[float, float]:
            out = subprocess.run([sys.executable, "-c", PACK_LOAD, str(REPO), str(root)],
                                 env=env, check=True, capture_output=True, text=True).stdout
            wall, cpu = json.loads(out.splitlines()[-1])
            return wall, cpu

        run()  # the bundled pack's index into the cache
        bundled = run()
        pack_yaml.write_text(text.replace(marker, marker + added), encoding="utf-8")
        cold = run()
        warm = [run() for _ in range(3)]
        warm_wall = statistics.median(w for w, _ in warm)
        warm_cpu = statistics.median(c for _, c in warm)
    print(f"pack load in a fresh process (import engine + load_pack, wall / CPU s): bundled "
          f"pack {bundled[0]:.2f} / {bundled[1]:.2f}; with these lists, index cache empty "
          f"{cold[0]:.2f} / {cold[1]:.2f}, cache filled (median of 3) {warm_wall:.2f} / "
          f"{warm_cpu:.2f} (target 2 s), {warm_cpu / bundled[1]:.2f} x the bundled pack's CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--entries", type=int, default=30_000)
    parser.add_argument("--queries", type=int, default=3_000)
    parser.add_argument("--sample", type=int, default=300, help="names checked by full scan")
    parser.add_argument("--threshold", type=float, default=88)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--workers", type=int, default=0,
                        help="fork this many workers and print their private memory")
    parser.add_argument("--worker-queries", type=int, default=300)
    parser.add_argument("--pack-load", action="store_true",
                        help="time load_pack with these lists, index cache empty and filled")
    parser.add_argument("--master", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.master:
        master(Path(args.master))
        return
    rng = random.Random(args.seed)
    reference = reference_ms()
    print(f"host reference workload: {reference:.1f} ms CPU (median of 7; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")

    start = time.process_time()
    ofac = load_ofac_sdn(OFAC / "sdn.csv", OFAC / "alt.csv", OFAC / "add.csv")
    read_s = time.process_time() - start
    extra = generated(rng, max(0, args.entries - len(ofac.entries)))
    lists = [ofac, extra]
    entries = sum(len(w.entries) for w in lists)
    aliases = sum(len(e.aliases) for w in lists for e in w.entries)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start, wall = time.process_time(), time.perf_counter()
    screener = Screener(lists, args.threshold)
    build_s, build_wall = time.process_time() - start, time.perf_counter() - wall
    blob = marshal.dumps(screener.state())
    start, wall = time.process_time(), time.perf_counter()
    Screener.from_state(marshal.loads(blob))
    load_s, load_wall = time.process_time() - start, time.perf_counter() - wall
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    gc.collect()
    gc.freeze()  # as engine.holder does after installing a pack
    print(f"lists: OFAC SDN {len(ofac.entries):,} entries (read in {read_s:.1f} s) + generated "
          f"{len(extra.entries):,} = {entries:,} entries, {aliases:,} aliases, "
          f"{len(screener):,} name variants")
    print("times are CPU seconds of this process (the host is shared)")
    print(f"index: built in {build_s:.1f} s CPU ({build_wall:.1f} s wall); on disk "
          f"{len(blob) / 2**20:.1f} MiB, read back in {load_s:.2f} s CPU ({load_wall:.2f} s "
          f"wall: a pack load with unchanged lists); peak RSS growth while building and "
          f"reading {(rss_after - rss_before) / 1024:.0f} MiB")

    listed_names = [n for w in lists for e in w.entries for n in (e.name, *e.aliases)]
    if args.pack_load:
        pack_load(lists)
    if args.workers:
        worker_memory(blob, args.workers, args.worker_queries, rng, listed_names)
    queries = [rng.choice(listed_names) for _ in range(args.queries // 2)]
    # the corpus of the previous rounds (the first six kinds), so that runs of older code
    # time the same names
    queries = [VARIANTS[rng.choice(list(VARIANTS)[:6])](rng, q) for q in queries]
    unlisted = [rng.choice(UNLISTED_COMPANIES) + f" {rng.choice(UNLISTED_SUFFIXES)} {i}"
                if i % 2 else
                f"{rng.choice(UNLISTED_PEOPLE_GIVEN)} {rng.choice(UNLISTED_PEOPLE_FAMILY)} "
                f"{rng.choice(UNLISTED_PEOPLE_FAMILY)}{i}"
                for i in range(args.queries - len(queries))]
    _, lat = timed(lambda q: screener.screen([q]), queries + unlisted)
    print(f"latency (CPU, every name new, {len(lat):,} names): mean "
          f"{statistics.mean(lat) * 1e3:.3f} ms, median "
          f"{statistics.median(lat) * 1e3:.3f} ms, p95 {percentile(lat, 0.95) * 1e3:.3f} ms, "
          f"p99 {percentile(lat, 0.99) * 1e3:.3f} ms (targets 0.3 and 2 ms); as ratios to "
          f"the host reference: median {statistics.median(lat) * 1e3 / reference:.4f}, p99 "
          f"{percentile(lat, 0.99) * 1e3 / reference:.4f}")
    # the same names with every word and token new too (the caches a server keeps warm across
    # names emptied before each one): the cost of a name none of whose words was ever met
    word_caches = tuple(getattr(module, name) for module, name in (
        (names_module, "_word_readings"), (names_module, "_folded_tokens")))
    screener_caches = (screener._reach, screener._close_cores)
    _, cold = timed(lambda q: screener.screen([q]), queries + unlisted,
                    word_caches=word_caches + screener_caches)
    print(f"latency with every word new too: median {statistics.median(cold) * 1e3:.3f} ms, "
          f"p99 {percentile(cold, 0.99) * 1e3:.3f} ms")

    # recall on variants of listed names, and agreement with a full scan
    corpus: list[tuple[str, str, str]] = []  # (kind, query, entry id)
    owners = [(e.id, n) for w in lists for e in w.entries for n in (e.name, *e.aliases)]
    for kind, variant in VARIANTS.items():
        for entry_id, name in rng.sample(owners, 200):
            corpus.append((kind, variant(rng, name), entry_id))
    people = [(e.id, n) for w in lists for e in w.entries if e.type == "individual"
              for n in (e.name, *e.aliases)]
    for entry_id, name in rng.sample(people, 200):
        corpus.append(("initial for the given name (possible)", initial(rng, name), entry_id))
    found_by_kind: dict[str, list[bool]] = {}
    for kind, query, entry_id in corpus:
        result = screener.screen([query])
        hit = result.outcome != "clear" and any(c.entry_id == entry_id
                                                 for c in result.candidates)
        found_by_kind.setdefault(kind, []).append(hit)
    total = [h for hits in found_by_kind.values() for h in hits]
    print(f"recall on {len(total):,} variants of listed names (found = the entry among the "
          f"candidates of a match or possible match): {sum(total) / len(total):.3f}")
    for kind, hits in found_by_kind.items():
        print(f"    {kind}: {sum(hits) / len(hits):.3f}")
    sample = rng.sample([q for _, q, _ in corpus], min(args.sample, len(corpus)))
    agree = 0
    for query in sample:
        a, b = screener.screen([query]), screener.screen_all(query)
        agree += (a.entry_id, a.score) == (b.entry_id, b.score)
    print(f"index = full scan (best entry and score) on {agree} of {len(sample)} sampled "
          "variants")

    # false positives on unlisted names
    fp_corpus = list(UNLISTED_COMPANIES) + [
        f"{g} {f}" for g in UNLISTED_PEOPLE_GIVEN for f in UNLISTED_PEOPLE_FAMILY] + [
        f"{c.split()[0]} {s}" for c in UNLISTED_COMPANIES for s in UNLISTED_SUFFIXES[:3]]
    initials = [f"{g[0]}. {f}" for g in UNLISTED_PEOPLE_GIVEN[::2] for f in UNLISTED_PEOPLE_FAMILY]
    for label, names in (("unlisted company and person names", fp_corpus),
                         ("unlisted people written with an initial", initials)):
        outcomes = [screener.screen([q]).outcome for q in names]
        matches = sum(o == "match" for o in outcomes)
        flagged = sum(o != "clear" for o in outcomes)
        print(f"false positives on {len(names):,} {label}: {matches / len(names):.3f} "
              f"matches, {flagged / len(names):.3f} match or possible (reviewed)")


if __name__ == "__main__":
    main()
