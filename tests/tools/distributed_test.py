#!/usr/bin/env python3
"""Data-parallel training under mpirun (docs/distributed.md), one case per ctest:

  same-bits       G2P, 4 gradient shards: 1 process x 2 threads, mpirun -np 2 x 1 thread and
                  -np 4 (oversubscribed) x 1 thread train weights, optimizer state and random
                  streams identical byte for byte (checkpoint.safetensors' tensors), and their
                  evaluations (sharded over the ranks) give the same metrics.jsonl
  fashion-mnist   the same for 1 process and -np 2 on Fashion-MNIST (2 shards)
  classify        the same for 1 process and -np 2 on the small tweets CSV (4 shards)
  resume          4 steps on 2 ranks, then resumed to 8 steps on 4 ranks: the bits of 8 steps in one
                  process
  indivisible     -np 3 with --shards 4: every rank stops with the reason, non-zero status
  disagree        two ranks given different data (mpirun's "A : B" form): refused at the start,
                  naming the rank
  rank-dies       rank 1 killed (SIGKILL) mid-run: mpirun ends with a non-zero status within a
                  minute (no hang) and the last checkpoint on disk still loads

    distributed_test.py CASE ATTEND MPIEXEC SOURCE_DIR WORK_DIR
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

from safetensors.numpy import load_file

G2P = ["train", "g2p", "--batch", "32", "--eval-words", "40", "--dim", "32", "--ff", "64", "--layers", "1",
       "--heads", "2"]


def environment():
    env = dict(os.environ)
    # Open MPI refuses root without these (containers, CI); harmless otherwise.
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")
    # Under LeakSanitizer (scripts/test --sanitize): Open MPI's leaks come from components it
    # has closed again, whose frames cannot be named; unwinding each malloc with DWARF reaches
    # the Open MPI library below them, which tests/sanitizers/lsan.supp suppresses by name.
    if env.get("LSAN_OPTIONS"):
        env["LSAN_OPTIONS"] += ":fast_unwind_on_malloc=0"
    return env


def run(command, expect_ok=True, timeout=600):
    result = subprocess.run(command, capture_output=True, text=True, env=environment(), timeout=timeout)
    if expect_ok and result.returncode != 0:
        sys.exit(f"FAILED ({result.returncode}): {' '.join(command)}\n{result.stdout}\n{result.stderr}")
    return result


def mpirun(mpiexec, ranks, command):
    return [mpiexec, "-np", str(ranks)] + command


def tensors(directory):
    return load_file(os.path.join(directory, "checkpoint.safetensors"))


def expect_same_tensors(reference_dir, other_dir):
    a, b = tensors(reference_dir), tensors(other_dir)
    if sorted(a) != sorted(b):
        sys.exit(f"FAILED: {other_dir} holds other tensors than {reference_dir}")
    differ = [name for name in a if a[name].dtype != b[name].dtype or a[name].tobytes() != b[name].tobytes()]
    if differ:
        sys.exit(f"FAILED: {len(differ)} of {len(a)} tensors differ between {reference_dir} and {other_dir}, "
                 f"e.g. {differ[:3]}")
    return len(a)


def expect_same_metrics(reference_dir, other_dir):
    """metrics.jsonl line by line, all but the clock's fields."""
    clock = {"train_seconds", "items_per_second", "wait_seconds", "exchange_seconds"}

    def evaluations(directory):
        with open(os.path.join(directory, "metrics.jsonl")) as f:
            return [{k: v for k, v in json.loads(line).items() if k not in clock} for line in f]

    a, b = evaluations(reference_dir), evaluations(other_dir)
    if a != b:
        sys.exit(f"FAILED: the evaluations differ:\n{reference_dir}: {a}\n{other_dir}: {b}")
    return len(a)


def expect_times_by_rank(directory, ranks):
    """The Trainer's lines of metrics.jsonl (a recipe may append a test line): wait_seconds and
    exchange_seconds hold one non-negative time per rank."""
    with open(os.path.join(directory, "metrics.jsonl")) as f:
        for line in f:
            entry = json.loads(line)
            if "train_seconds" not in entry:
                continue
            for key in ("wait_seconds", "exchange_seconds"):
                times = entry.get(key)
                if not isinstance(times, list) or len(times) != ranks or min(times) < 0:
                    sys.exit(f"FAILED: {key} should hold {ranks} times (one per rank), got {times!r}")


def fresh(work, name):
    path = os.path.join(work, name)
    shutil.rmtree(path, ignore_errors=True)
    return path


def case_same_bits(attend, mpiexec, work, task, shards, rank_counts, steps):
    single = fresh(work, f"{task[1]}-1")
    run([attend, "--threads", "2"] + task + ["--steps", str(steps), "--shards", str(shards), "--out", single])
    for ranks in rank_counts:
        out = fresh(work, f"{task[1]}-{ranks}")
        result = run(mpirun(mpiexec, ranks, [attend, "--threads", "1"] + task +
                            ["--steps", str(steps), "--shards", str(shards), "--out", out]))
        if f"{ranks} ranks" not in result.stderr:
            sys.exit(f"FAILED: -np {ranks} did not train as {ranks} ranks:\n{result.stderr}")
        count = expect_same_tensors(single, out)
        evaluations = expect_same_metrics(single, out)
        expect_times_by_rank(out, ranks)
        print(f"ok: {task[1]}, {shards} shards: 1 process and {ranks} ranks give the same {count} tensors and "
              f"the same {evaluations} evaluations (sharded over the ranks)")


def case_resume(attend, mpiexec, work):
    task = G2P + ["--eval-every", "4", "--shards", "4"]
    single = fresh(work, "resume-1")
    run([attend, "--threads", "2"] + task + ["--steps", "8", "--out", single])
    split = fresh(work, "resume-2-4")
    run(mpirun(mpiexec, 2, [attend, "--threads", "1"] + task + ["--steps", "4", "--out", split]))
    run(mpirun(mpiexec, 4, [attend, "--threads", "1"] + task + ["--steps", "8", "--out", split, "--resume"]))
    count = expect_same_tensors(single, split)
    print(f"ok: 4 steps on 2 ranks + 4 resumed on 4 ranks = 8 steps in 1 process ({count} tensors)")


def expect_failure(result, message):
    if result.returncode == 0 or message not in result.stderr:
        sys.exit(f"FAILED: expected a non-zero status and '{message}', got {result.returncode}:\n{result.stderr}")


def case_indivisible(attend, mpiexec, work):
    out = fresh(work, "indivisible")
    result = run(mpirun(mpiexec, 3, [attend] + G2P + ["--steps", "2", "--shards", "4", "--out", out]),
                 expect_ok=False)
    expect_failure(result, "the 4 gradient shards of a step do not divide among 3 ranks")
    if os.path.exists(os.path.join(out, "checkpoint.safetensors")):
        sys.exit("FAILED: a refused run wrote a checkpoint")
    print("ok: 4 shards on 3 ranks refused")


def case_disagree(attend, mpiexec, source, work):
    csv = os.path.join(source, "tests", "tools", "data", "classify_small.csv")
    other = os.path.join(work, "classify_other.csv")
    os.makedirs(work, exist_ok=True)
    with open(csv, encoding="utf-8", newline="") as f:
        lines = f.readlines()
    with open(other, "w", encoding="utf-8", newline="") as f:
        f.writelines(lines[:-3])  # three records fewer
    out = fresh(work, "disagree")
    task = ["train", "classify", "--arch", "gru-mean", "--steps", "2", "--batch", "8", "--shards", "2", "--dim", "8",
            "--hidden", "8", "--out", out]
    command = [mpiexec, "-np", "1", attend] + task + ["--data", csv] + [":", "-np", "1", attend] + task + [
        "--data", other]
    result = run(command, expect_ok=False)
    expect_failure(result, "rank 1 disagrees with rank 0")
    print("ok: ranks with different data refused at the start")


def rank_pids(parent):
    """The attend processes under mpirun `parent`, by their OMPI_COMM_WORLD_RANK."""
    ranks = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = dict(item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item)
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read().split(b"\0")[0]
        except OSError:
            continue
        if command.endswith(b"attend") and b"OMPI_COMM_WORLD_RANK" in env and _is_descendant(int(pid), parent):
            ranks[int(env[b"OMPI_COMM_WORLD_RANK"])] = int(pid)
    return ranks


def _is_descendant(pid, ancestor):
    while pid > 1:
        if pid == ancestor:
            return True
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            return False
    return False


def case_rank_dies(attend, mpiexec, work):
    out = fresh(work, "rank-dies")
    checkpoint = os.path.join(out, "checkpoint.safetensors")
    command = mpirun(mpiexec, 2, [attend, "--threads", "1"] + G2P +
                     ["--steps", "1000000", "--eval-every", "5", "--shards", "2", "--out", out])
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment())
    try:
        deadline = time.time() + 120
        while not os.path.exists(checkpoint) and time.time() < deadline and process.poll() is None:
            time.sleep(0.2)
        if not os.path.exists(checkpoint):
            sys.exit(f"FAILED: no checkpoint after 120 s (status {process.poll()})")
        ranks = rank_pids(process.pid)
        if 1 not in ranks:
            sys.exit(f"FAILED: rank 1 not found among mpirun's processes ({ranks})")
        os.kill(ranks[1], signal.SIGKILL)
        killed = time.time()
        try:
            _, stderr = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            sys.exit("FAILED: the other rank still runs 60 s after rank 1 died (a hang)")
        if process.returncode == 0:
            sys.exit(f"FAILED: mpirun ended with status 0 after a rank died\n{stderr}")
        state = load_file(checkpoint)  # whole and readable: written atomically before the crash
        print(f"ok: rank 1 killed; mpirun stopped with status {process.returncode} after "
              f"{time.time() - killed:.1f} s; the checkpoint loads ({len(state)} tensors)")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    case, attend, mpiexec, source, work = sys.argv[1:]
    if case == "same-bits":
        case_same_bits(attend, mpiexec, work, G2P + ["--eval-every", "3"], 4, [2, 4], 6)
    elif case == "fashion-mnist":
        task = ["train", "fashion-mnist", "--batch", "64", "--dim", "16", "--layers", "1", "--stem-channels", "8"]
        case_same_bits(attend, mpiexec, work, task, 2, [2], 3)
    elif case == "classify":
        csv = os.path.join(source, "tests", "tools", "data", "classify_small.csv")
        task = ["train", "classify", "--data", csv, "--arch", "transformer-attention", "--batch", "8",
                "--eval-every", "3", "--dim", "16", "--ff", "32", "--layers", "1", "--heads", "2"]
        case_same_bits(attend, mpiexec, work, task, 4, [2], 6)
    elif case == "resume":
        case_resume(attend, mpiexec, work)
    elif case == "indivisible":
        case_indivisible(attend, mpiexec, work)
    elif case == "disagree":
        case_disagree(attend, mpiexec, source, work)
    elif case == "rank-dies":
        case_rank_dies(attend, mpiexec, work)
    else:
        sys.exit(f"unknown case '{case}'\n{__doc__}")


if __name__ == "__main__":
    main()
