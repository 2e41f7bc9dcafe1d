"""The ``voclab`` command.

``voclab doctor``
    Check that the course will run here.
``voclab prepare SRC -o OUT`` / ``voclab prepare --mini-ljspeech -o OUT`` / ``voclab prepare --drums -o OUT``
    Make a training folder from any audio (or LJSpeech, the offline mini-LJSpeech, or drum hits);
    ``--nsynth-fluid`` renders NSynth-style notes offline, ``--nsynth DIR`` filters a real NSynth
    download to GANSynth's acoustic subset.
``voclab train MODEL --config NAME --data DIR --out RUN_DIR``
    Train a reference vocoder or WaveGAN (CPU, GPU, or several GPUs under ``torchrun``); ``--resume``;
    ``--init pretrained:NAME`` (or a voclab checkpoint) fine-tunes a trained generator from step 0;
    ``--init-official g_… do_…`` continues an official HiFi-GAN run; ``--mels DIR`` fine-tunes
    on an acoustic model's ground-truth-aligned mels.
``voclab vocode CHECKPOINT INPUT... -o OUT_DIR``
    Turn mels or recordings into audio with a checkpoint (long inputs in chunks: ``--chunk-frames``).
``voclab generate CHECKPOINT -n 16 -o OUT_DIR [--seed S] [--pitch MIDI]``
    Sample an unconditional model (WaveGAN): WAVs and a ``seeds.json``.
``voclab slim CHECKPOINT -o OUT.pt``
    Write a generator-only copy of a checkpoint, to vocode with or share.
``voclab import FILE -o OUT.pt [--config CONFIG_JSON]``
    Convert an official HiFi-GAN ``g_XXXXXXXX`` (with its ``config.json``) or MelGAN ``netG.pt``
    into a voclab checkpoint (``voclab vocode`` also reads them directly).
``voclab course [DIR] [--no-launch] [--allow-root]``
    Copy the learner notebooks into a folder of your own (default ``./voclab-course``) and start
    JupyterLab there; a notebook changed by an update goes beside yours as ``NN_name.new.ipynb``.
``voclab workshop -o DIR [--notebooks DIR] [--force]``
    Write the 90-minute workshop: the trimmed learner notebooks of its path, in order, and a
    ``README.md`` with the plan (sections, exercises live or later, tier, minutes).

``voclab grade SUBMISSION.ipynb... -o REPORT_DIR [--notebook NN] [--timeout S] [--cell-timeout S] [--tier T]
[--jobs N]``
    Run the learners' notebooks headless, each in its own kernel and temporary folder; grade every
    exercise on its public and hidden inputs: ``grades.csv``, ``grades.md``, ``feedback/<student>.md``.
``voclab export nbgrader|otter -o DIR [--notebook NN ...] [--points P] [--solutions DIR] [--force]``
    Write the solution notebooks as an nbgrader course (``source/<notebook>/``, ``nbgrader_config.py``)
    or as otter-assign master notebooks, with voclab's check of every exercise as its autograder test.

Every mistake voclab detects is printed as one line ``voclab: ...`` with exit code 2.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from importlib import metadata
from pathlib import Path

PACKAGES = ("numpy", "scipy", "torch", "librosa", "soundfile", "matplotlib", "ipywidgets", "jupyterlab", "nbval")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def widget_extension_path() -> Path | None:
    """Where JupyterLab's ipywidgets extension is installed, or None."""
    try:
        from jupyter_core.paths import jupyter_path
    except ImportError:
        return None
    for root in jupyter_path("labextensions"):
        candidate = Path(root) / "@jupyter-widgets" / "jupyterlab-manager"
        if (candidate / "package.json").exists():
            return candidate
    return None


def device_report() -> list[str]:
    import torch

    from .threads import available_cpus

    lines = [f"torch threads: {torch.get_num_threads()} (voclab.threads: {available_cpus()} CPUs available to this "
             f"process, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}; VOCLAB_THREADS=N to change)"]
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            lines.append(f"device: CUDA {i}: {torch.cuda.get_device_name(i)}")
    else:
        lines.append("device: CPU only (no CUDA): fine for the quick and standard tiers")
    return lines


def doctor(_args=None) -> int:
    """Print versions, device, widget extension and data status; return 0 when all is well."""
    from . import __version__
    from .data import data_dir, verify_data
    from .errors import ConfigError
    from .tiers import current_tier

    problems = []
    print(f"voclab {__version__} on Python {platform.python_version()} ({platform.platform()})")
    for package in PACKAGES:
        version = _version(package)
        print(f"  {package:<11} {version}")
        if version == "not installed" and package != "nbval":
            problems.append(f"{package} is not installed: pip install -e .")
    for line in device_report():
        print(line)
    extension = widget_extension_path()
    if extension:
        print(f"JupyterLab widget extension: installed ({extension})")
    else:
        print("JupyterLab widget extension: MISSING")
        problems.append("ipywidgets' JupyterLab extension is missing: pip install 'ipywidgets>=8' jupyterlab_widgets")
    try:
        print(f"tier: {current_tier()} (set VOCLAB_TIER to quick, standard or full)")
    except ConfigError as err:
        problems.append(str(err))
    data_problems = verify_data()
    if data_problems:
        print(f"data: {data_dir()} does NOT match its manifest:")
        for problem in data_problems:
            print(f"  - {problem}")
        problems.append("data/ does not match data/manifest.json: git checkout data/ (or python tools/build_data.py)")
    else:
        print(f"data: {data_dir()} matches its manifest")
    if problems:
        print("\nProblems:")
        for problem in problems:
            print(f"  * {problem}")
        return 1
    print("\nAll good: `voclab course` to start the course (in ./voclab-course, your own copy of the notebooks).")
    return 0


def train_command(args) -> int:
    """``voclab train``: load the config, then run :func:`voclab.train.train`."""
    from .config import load_config
    from .errors import ConfigError
    from .train import train

    overrides = list(args.set or [])
    if args.batch_size is not None:
        overrides.append(f"batch_size={args.batch_size}")
    if args.config is None and overrides and args.resume:
        raise ConfigError("--set/--batch-size change the config, but a resumed run keeps its saved config; "
                          "drop them, or start a new run with another --out.")
    cfg = None
    if args.config is not None or overrides:
        cfg = load_config(args.model, args.config, overrides)
    summary = train(
        args.model, cfg, args.data, args.out, steps=args.steps, device=args.device, resume=args.resume,
        init=args.init, init_official=args.init_official, mels_dir=args.mels, bf16=args.bf16, compile=args.compile,
        log_every=args.log_every, val_every=args.val_every,
        ckpt_every=args.ckpt_every, keep_last=args.keep_last, seed=args.seed, num_workers=args.num_workers,
        val_clips=args.val_clips, normalize=False if args.no_normalize else None, tensorboard=not args.no_tensorboard,
    )
    if int(os.environ.get("RANK", "0")) == 0:
        best = ""
        if summary.best_val is not None:
            best = {"ndb": f", best validation NDB {summary.best_val:.0f} bins",
                    "pitch_error": f", best validation pitch accuracy {1 - summary.best_val:.0%}",
                    }.get(summary.val_metric, f", best validation log-mel L1 {summary.best_val:.4f}")
        print(f"done: step {summary.step} in {summary.seconds:.1f} s ({summary.steps_per_second:.2f} steps/s)"
              f"{best}; last checkpoint {summary.checkpoint}")
    return 0


def vocode_command(args) -> int:
    """``voclab vocode``: checkpoint + inputs -> OUT_DIR/<name>.wav."""
    from .vocode import vocode

    chunk_frames = None if args.chunk_frames == 0 else args.chunk_frames
    for path in vocode(args.checkpoint, args.inputs, args.out, device=args.device, chunk_frames=chunk_frames):
        print(path)
    return 0


def generate_command(args) -> int:
    """``voclab generate``: an unconditional checkpoint -> OUT_DIR/<model>_<seed>.wav + seeds.json."""
    from .vocode import SEEDS_FILE, generate

    paths = generate(args.checkpoint, args.n, args.out, seed=args.seed, pitch=args.pitch, device=args.device)
    for path in paths:
        print(path)
    print(f"{len(paths)} clips; their seeds are in {Path(args.out) / SEEDS_FILE}")
    return 0


def slim_command(args) -> int:
    """``voclab slim``: a checkpoint -> a generator-only checkpoint for vocoding and sharing."""
    from .checkpoint import resolve_checkpoint, slim_checkpoint

    source = resolve_checkpoint(args.checkpoint)
    before = source.stat().st_size
    path = slim_checkpoint(source, args.out)
    print(f"{path}: {path.stat().st_size / 1e6:.1f} MB (from {source}, {before / 1e6:.1f} MB)")
    return 0


def import_command(args) -> int:
    """``voclab import``: an official HiFi-GAN g_XXXXXXXX or MelGAN netG.pt -> a generator-only voclab checkpoint."""
    from .checkpoint import read_official, save_atomic
    from .errors import ConfigError

    if Path(args.out).is_dir():
        raise ConfigError(f"{args.out} is a folder: pass the new file's name, e.g. {Path(args.out) / 'imported.pt'}.")
    state = read_official(args.file, config=args.config)
    if state["imported"]["note"]:
        print(f"note: {state['imported']['note']}")
    path = save_atomic(state, args.out)
    print(f"{path}: {state['imported']['layout']} generator ({state['model']}, {state['mel']['sample_rate']} Hz, "
          f"hop {state['mel']['hop_length']}); vocode with: voclab vocode {path} INPUT... -o OUT_DIR")
    return 0


def prepare_command(args) -> int:
    """``voclab prepare``: a folder, LJSpeech, the offline mini-LJSpeech or drums -> a training folder."""
    from .errors import ConfigError
    from .prepare import prepare, prepare_drums, prepare_mini_ljspeech, prepare_nsynth, prepare_nsynth_fluid

    if args.nsynth_fluid or args.nsynth is not None:
        sources = [name for name, given in (("SRC", args.src is not None), ("--mini-ljspeech", args.mini_ljspeech),
                                            ("--drums", args.drums), ("--nsynth-fluid", args.nsynth_fluid),
                                            ("--nsynth DIR", args.nsynth is not None)) if given]
        if len(sources) > 1:
            raise ConfigError(f"{' and '.join(sources)} each name the source: pass only one of SRC, --mini-ljspeech, "
                              "--drums, --nsynth-fluid, --nsynth DIR.")
        if args.val_clips is not None:
            raise ConfigError("--val-clips does not apply to NSynth notes: they are split by instrument "
                              "(validation instruments are not training instruments), as GANSynth's were.")
        sample_rate = 16000 if args.sample_rate is None else args.sample_rate
        if args.nsynth_fluid:
            summary = prepare_nsynth_fluid(args.out, sample_rate=sample_rate, force=args.force, limit=args.limit)
            print(summary.licence)
        else:
            summary = prepare_nsynth(args.nsynth, args.out, sample_rate=sample_rate, force=args.force,
                                     limit=args.limit)
        print(summary.describe())
        return 0
    if args.drums:
        if args.src is not None or args.mini_ljspeech:
            raise ConfigError("--drums builds its corpus from Debian packages: pass no SRC and no --mini-ljspeech.")
        summary = prepare_drums(args.out, slice_len=args.slice_len, val_clips=args.val_clips, force=args.force,
                                sample_rate=16000 if args.sample_rate is None else args.sample_rate)
        print(summary.licence)
        print(summary.describe())
        return 0
    args.sample_rate = 22050 if args.sample_rate is None else args.sample_rate
    args.val_clips = 2 if args.val_clips is None else args.val_clips
    if args.mini_ljspeech == (args.src is not None):
        raise ConfigError("pass either a source folder (voclab prepare SRC -o OUT) or --mini-ljspeech, not both/neither.")
    if args.mini_ljspeech:
        summary = prepare_mini_ljspeech(args.out, sample_rate=args.sample_rate, val_clips=args.val_clips,
                                        force=args.force, limit=args.limit)
        print(summary.licence)
    else:
        summary = prepare(args.src, args.out, sample_rate=args.sample_rate, val_clips=args.val_clips,
                          force=args.force)
    print(summary.describe())
    return 0


def course_command(args) -> int:
    """``voclab course``: copy the learner notebooks into the learner's folder, then start JupyterLab there."""
    from .course import copy_course, launch_jupyterlab

    result = copy_course(args.dir)
    for line in result.lines():
        print(line)
    if args.no_launch:
        return 0
    print(f"starting JupyterLab in {result.folder} (Ctrl+C to stop it)")
    return launch_jupyterlab(result.folder, allow_root=args.allow_root)


def workshop_command(args) -> int:
    """``voclab workshop -o DIR``: the trimmed notebooks of the 90-minute path and its plan."""
    from .workshop import WORKSHOP_TIER, write_workshop

    written = write_workshop(args.out, args.notebooks, force=args.force)
    for path in written:
        print(f"wrote {path}")
    print(f"start it with: VOCLAB_TIER={WORKSHOP_TIER} jupyter lab {args.out}   (the plan: {written[-1].name})")
    return 0


def grade_command(args) -> int:
    """``voclab grade``: submissions -> REPORT_DIR/grades.csv, grades.md, feedback/<student>.md."""
    from .grade import grade

    def progress(submission) -> None:
        counts = ", ".join(f"{sum(g == grade for g in submission.grades.values())} {grade}"
                           for grade in ("passed", "partial", "failed", "not done", "error")
                           if grade in submission.grades.values())
        problem = f" — {submission.notes[0]}" if submission.notes and not submission.grades else ""
        print(f"{submission.student}: {submission.notebook or 'not graded'} {counts}"
              f" ({submission.seconds:.1f} s){problem}")

    report = grade(args.submissions, args.out, notebook=args.notebook, tier=args.tier, timeout=args.timeout,
                   cell_timeout=args.cell_timeout, course_dir=args.course, jobs=args.jobs,
                   progress=progress)
    print(f"report: {report.markdown_path}, {report.csv_path}, {report.long_csv_path}, {report.feedback_dir}/")
    return 0


def export_command(args) -> int:
    """``voclab export nbgrader|otter -o DIR``: the course in the grading tool's format."""
    from .export import export_nbgrader, export_otter

    if args.tool == "nbgrader":
        written = export_nbgrader(args.out, solutions_dir=args.solutions, notebooks=args.notebook,
                                  points=args.points, force=args.force)
        print(f"wrote {len(written) - 1} assignments and {written[0].name} to {args.out}; then, in {args.out}: "
              "nbgrader generate_assignment NN_name, nbgrader autograde NN_name")
    else:
        written = export_otter(args.out, solutions_dir=args.solutions, notebooks=args.notebook, points=args.points,
                               force=args.force)
        print(f"wrote {len(written)} otter master notebooks to {args.out}; then, in DIR/NN_name: "
              "otter assign NN_name.ipynb dist, VOCLAB_TIER=quick otter run -a dist/autograder/*.zip "
              "SUBMISSION.ipynb")
    for path in written:
        print(f"  {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voclab", description="The voclab neural-vocoder course.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    doctor_parser = commands.add_parser("doctor", help="check versions, device, widgets and data")
    doctor_parser.set_defaults(run=doctor)

    tr = commands.add_parser(
        "train", help="train a reference vocoder or WaveGAN (resumable; DDP under torchrun)",
        description="Train a reference model. Multi-GPU: torchrun --nproc_per_node N -m voclab train ...",
    )
    tr.add_argument("model", metavar="MODEL", help="hifigan, melgan, wavenet, wavegan (or a model registered in "
                         "Python with voclab.models.register_model, in a script that then calls voclab.cli.main)")
    tr.add_argument("--config", metavar="NAME_OR_FILE",
                    help="a shipped config (e.g. hifigan_v1) or a JSON file; default: the model's defaults "
                         "(or, with --resume, the run's saved config)")
    tr.add_argument("--set", metavar="KEY=VALUE", action="append",
                    help="override a config field (repeatable); VALUE is JSON if it parses, else a string "
                         "(--set batch_size=8 --set mel.fmax=null)")
    tr.add_argument("--data", metavar="DIR", required=True, help="folder of audio, or one made by voclab prepare")
    tr.add_argument("--out", metavar="RUN_DIR", required=True, help="run folder: log, samples, checkpoints")
    tr.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or mps (default: cpu)")
    tr.add_argument("--steps", type=int, metavar="N", help="train until this global step (default with --resume: the run's target)")
    tr.add_argument("--resume", action="store_true",
                    help="continue from the latest checkpoint in RUN_DIR (before the first one: start again "
                         "from RUN_DIR/config.json, the run's own config)")
    tr.add_argument("--init", metavar="GENERATOR",
                    help="fine-tune from a trained generator: pretrained:NAME (hifigan-v1-universal, hifigan-v1-lj; "
                         "with --config hifigan_v1, the default) or a voclab checkpoint; the discriminators start "
                         "fresh and the step counter at 0 (with --resume, the run's own checkpoint wins)")
    tr.add_argument("--init-official", nargs="+", metavar="FILE",
                    help="hifigan: start from an official jik876/hifi-gan run, g_XXXXXXXX [do_XXXXXXXX]; with the "
                         "do_ file, its discriminators, optimizers and step too (--steps counts on from that step)")
    tr.add_argument("--mels", metavar="DIR",
                    help="fine-tune on an acoustic model's ground-truth-aligned mels: DIR/<stem>.npy per recording, "
                         "with DIR/mel_config.json (the MelConfig they were made with)")
    tr.add_argument("--bf16", action="store_true", help="bfloat16 autocast (GPU)")
    tr.add_argument("--compile", action="store_true", help="torch.compile the networks (for CUDA)")
    tr.add_argument("--batch-size", type=int, metavar="N", help="global batch size (same as --set batch_size=N)")
    tr.add_argument("--log-every", type=int, default=10, metavar="N", help="log every N steps (10)")
    tr.add_argument("--val-every", type=int, default=1000, metavar="N", help="validate every N steps (1000)")
    tr.add_argument("--ckpt-every", type=int, default=5000, metavar="N", help="checkpoint every N steps (5000)")
    tr.add_argument("--keep-last", type=int, default=3, metavar="N", help="step checkpoints kept, plus best.pt (3)")
    tr.add_argument("--val-clips", type=int, default=2, metavar="N",
                    help="vocoders: whole clips held out for validation (2); an unconditional model (wavegan) holds "
                         "none out: it is validated against its training clips (NDB)")
    tr.add_argument("--seed", type=int, metavar="N",
                    help="initial weights, data order, crops (default: the config's seed, else 0)")
    tr.add_argument("--num-workers", type=int, metavar="N",
                    help="DataLoader worker processes (default: 0 on cpu, up to 4 per GPU)")
    tr.add_argument("--no-normalize", action="store_true",
                    help="do not peak-normalise files to 0.95 (never done with --mels)")
    tr.add_argument("--no-tensorboard", action="store_true", help="do not write TensorBoard events")
    tr.set_defaults(run=train_command)

    vo = commands.add_parser("vocode", help="mels or recordings -> audio with a checkpoint",
                             description="Vocode audio files (analysis-synthesis) and .npz/.npy mels.")
    vo.add_argument("checkpoint", metavar="CHECKPOINT", help="a .pt file, a run folder, RUN_DIR/best, pretrained:NAME (hifigan-v1-universal, hifigan-v1-lj), "
                         "an official HiFi-GAN g_XXXXXXXX (config.json beside it) or MelGAN netG.pt")
    vo.add_argument("inputs", metavar="INPUT", nargs="+", help="audio files, .npz mels, .npy mels (+ .json settings)")
    vo.add_argument("-o", "--out", metavar="OUT_DIR", required=True, help="where <name>.wav files go")
    vo.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    vo.add_argument("--chunk-frames", type=int, default=1024, metavar="N",
                    help="mel frames per pass of the generator, which bounds its memory; the audio is the same "
                         "(default 1024: 11.9 s at 22.05 kHz; 0: each input in one pass)")
    vo.set_defaults(run=vocode_command)

    ge = commands.add_parser("generate", help="sample an unconditional model (WaveGAN): WAVs + seeds.json",
                             description="Make N clips with an unconditional checkpoint, clip i from the latent of "
                                         "seed S + i; a run's validation previews are seeds 0, 1, ... "
                                         "(a vocoder checkpoint goes to voclab vocode instead).")
    ge.add_argument("checkpoint", metavar="CHECKPOINT", help="a .pt file, a run folder, or RUN_DIR/best")
    ge.add_argument("-n", type=int, default=16, metavar="N", help="clips to make (16)")
    ge.add_argument("-o", "--out", metavar="OUT_DIR", required=True, help="where the WAVs and seeds.json go")
    ge.add_argument("--seed", type=int, metavar="S", help="seed of the first clip (default: a random one, recorded)")
    ge.add_argument("--pitch", type=int, metavar="MIDI", help="MIDI pitch, for pitch-conditional models")
    ge.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    ge.set_defaults(run=generate_command)

    sl = commands.add_parser("slim", help="write a generator-only copy of a checkpoint (to vocode or share)",
                             description="Keep a checkpoint's generator, config and mel settings; drop the "
                                         "discriminators and optimizer states. voclab vocode reads the result; "
                                         "voclab train --resume refuses it.")
    sl.add_argument("checkpoint", metavar="CHECKPOINT", help="a .pt file, a run folder, or RUN_DIR/best")
    sl.add_argument("-o", "--out", metavar="OUT.pt", required=True, help="the generator-only file to write")
    sl.set_defaults(run=slim_command)

    im = commands.add_parser("import", help="convert an official HiFi-GAN g_XXXXXXXX or MelGAN netG.pt into a "
                                            "voclab checkpoint",
                             description="Write a generator-only voclab checkpoint (as voclab slim writes) from an "
                                         "official jik876/hifi-gan generator file (with its config.json) or an official "
                                         "descriptinc/melgan-neurips netG.pt (with voclab's 'melgan' mel settings).")
    im.add_argument("file", metavar="FILE", help="g_XXXXXXXX (HiFi-GAN) or netG.pt (MelGAN)")
    im.add_argument("-o", "--out", metavar="OUT.pt", required=True, help="the voclab checkpoint to write")
    im.add_argument("--config", metavar="CONFIG_JSON",
                    help="HiFi-GAN: the run's config.json (default: config.json beside FILE)")
    im.set_defaults(run=import_command)

    pr = commands.add_parser("prepare", help="make a training folder (any audio, LJSpeech, mini-LJSpeech, drums, "
                                             "NSynth notes)",
                             description="Resample audio to mono FLAC and write train/val lists and a manifest.")
    pr.add_argument("src", metavar="SRC", nargs="?", help="a folder of audio, or LJSpeech-1.1/")
    pr.add_argument("-o", "--out", metavar="OUT", required=True)
    pr.add_argument("--sample-rate", type=int, metavar="HZ",
                    help="(22050; with --drums, --nsynth-fluid, --nsynth 16000)")
    pr.add_argument("--val-clips", type=int, metavar="N",
                    help="clips held out for validation (2; with --drums 10%% of the hits, drawn per source)")
    pr.add_argument("--mini-ljspeech", action="store_true",
                    help="build the offline mini-LJSpeech from Debian's asterisk prompts (CC-BY-SA-3.0)")
    pr.add_argument("--limit", type=int, metavar="N",
                    help="with --mini-ljspeech: only the first N prompts; with --nsynth-fluid or --nsynth: at most "
                         "N notes, spread evenly over instruments and pitches")
    pr.add_argument("--drums", action="store_true",
                    help="build the offline drum corpus for WaveGAN (about 470 one-shots, CC0/MIT) from Debian's "
                         "sonic-pi-samples and fluid-soundfont-gm; needs libfluidsynth3 and pip install 'voclab[drums]'")
    pr.add_argument("--slice-len", type=int, default=16384, metavar="N",
                    help="with --drums: samples per hit, cut or zero-padded (16384)")
    pr.add_argument("--nsynth-fluid", action="store_true",
                    help="render NSynth-style notes for GANSynth offline (61 acoustic GM programs, MIDI 24-84, "
                         "velocities 75 and 127, split by instrument; MIT) from Debian's fluid-soundfont-gm; needs "
                         "libfluidsynth3 and pip install pyfluidsynth")
    pr.add_argument("--nsynth", metavar="DIR",
                    help="an NSynth split folder (examples.json + audio/): keep GANSynth's notes (acoustic, "
                         "MIDI 24-84), split by instrument")
    pr.add_argument("--force", action="store_true", help="replace an earlier voclab prepare output in OUT")
    pr.set_defaults(run=prepare_command)

    co = commands.add_parser("course", help="copy the learner notebooks into a folder of your own and start "
                                            "JupyterLab there",
                             description="Work in your own copy, not in the checkout's notebooks/ (tracked files: "
                                         "autosave would write into the clone and git pull would conflict). "
                                         "Run it again after an update: your notebooks are never overwritten; a "
                                         "changed one goes beside yours as NN_name.new.ipynb.")
    co.add_argument("dir", metavar="DIR", nargs="?", default="voclab-course",
                    help="your course folder (default: ./voclab-course)")
    co.add_argument("--no-launch", action="store_true", help="only copy; do not start JupyterLab")
    co.add_argument("--allow-root", action="store_true",
                    help="pass --allow-root to JupyterLab (it refuses to start as root without it)")
    co.set_defaults(run=course_command)
    ws = commands.add_parser("workshop", help="write the 90-minute workshop: trimmed notebooks and the plan",
                             description="Write the learner notebooks of the 90-minute workshop path, trimmed to "
                                         "its sections (cells tagged workshop-skip left out), and a README.md "
                                         "with the plan.")
    ws.add_argument("-o", "--out", metavar="DIR", required=True, help="the folder to write the workshop into")
    ws.add_argument("--notebooks", metavar="DIR",
                    help="the learner notebooks to trim (default: notebooks/ of the course clone)")
    ws.add_argument("--force", action="store_true", help="overwrite workshop files already in DIR")
    ws.set_defaults(run=workshop_command)

    gr = commands.add_parser("grade", help="grade submitted learner notebooks: a table and feedback per student",
                             description="Run each submitted notebook headless (its own kernel, a temporary folder, "
                                         "time limits), record every voclab.check on its public and hidden inputs, "
                                         "and write REPORT_DIR/grades.csv, grades.md and feedback/<student>.md "
                                         "(the student is the file stem). A bad submission is a row of the report, "
                                         "never the end of the run.")
    gr.add_argument("submissions", metavar="SUBMISSION", nargs="+", help="the learners' .ipynb files")
    gr.add_argument("-o", "--out", metavar="REPORT_DIR", required=True, help="where the report goes")
    gr.add_argument("--notebook", metavar="NN", help="the notebook every submission must be (e.g. 04); default: "
                                                     "identified by its cell ids")
    gr.add_argument("--timeout", type=float, default=900.0, metavar="S",
                    help="seconds one notebook may run before its kernel is killed (900)")
    gr.add_argument("--cell-timeout", type=float, default=300.0, metavar="S",
                    help="seconds one cell may run before the kernel is killed (300)")
    gr.add_argument("--tier", default="quick", help="VOCLAB_TIER of the runs (quick: the exercises are the same "
                                                    "in every tier)")
    gr.add_argument("--course", metavar="DIR", help="the learner notebooks to compare with (default: the course's)")
    gr.add_argument("--jobs", type=int, default=1, metavar="N",
                    help="submissions run at once, each kernel with the CPUs // N threads (1)")
    gr.set_defaults(run=grade_command)

    ex = commands.add_parser("export", help="write the course for nbgrader or otter-grader",
                             description="Write each solution notebook in the layout the grading tool expects: "
                                         "nbgrader (DIR/nbgrader_config.py, DIR/source/<notebook>/<notebook>.ipynb "
                                         "with solution and locked autograder test cells) or otter-grader "
                                         "(DIR/<notebook>/<notebook>.ipynb in the otter-assign format, one question "
                                         "per exercise). Every test calls voclab's check of the exercise.")
    ex.add_argument("tool", choices=("nbgrader", "otter"), help="the grading tool")
    ex.add_argument("-o", "--out", metavar="DIR", required=True, help="the folder to write into")
    ex.add_argument("--notebook", metavar="NN", nargs="+", help="only these notebooks (e.g. 02 04); default: all eight")
    ex.add_argument("--points", type=float, default=1.0, help="points per exercise (1)")
    ex.add_argument("--solutions", metavar="DIR", help="the solution notebooks (default: solutions/ of the course clone)")
    ex.add_argument("--force", action="store_true", help="overwrite exported files already in DIR (your edits go)")
    ex.set_defaults(run=export_command)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .errors import VoclabError

    try:
        return int(args.run(args) or 0)
    except VoclabError as err:
        print(f"voclab: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a path that is a file, a folder we may not write...: one line, not a traceback
        where = f": {err.filename}" if err.filename else ""
        print(f"voclab: {err.strerror or err}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("voclab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
