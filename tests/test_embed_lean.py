"""The lean query encoder: same vectors as sentence-transformers, without importing it.

The equality tests load the real default model (``slow``); the layout checks read small folders.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kb.embed import (
    LeanQueryEmbedder,
    SentenceTransformerEmbedder,
    default_model_path,
    lean_layout,
    load_query_embedder,
    model_name,
)
from kb.errors import BadInputError

ROOT = Path(__file__).resolve().parent.parent

WORDS = [
    *("scaling", "law", "loss", "compute", "parameters", "tokens", "exponent", "power"),
    *("data", "optimal", "model", "size", "transformer", "language", "vision", "emergent"),
    *("inverse", "broken", "neural", "training", "budget", "frontier", "Chinchilla"),
    *("Kaplan", "irreducible", "entropy", "fit", "bootstrap", "held-out", "FLOPs"),
]


def varied_texts(n: int = 200, seed: int = 0) -> list[str]:
    """Queries and abstracts of every length: short, empty, odd characters, non-English, and
    long ones well past the model's 256-token limit (truncated)."""
    rng = random.Random(seed)
    fixed = [
        "",
        " ",
        "compute-optimal split between parameters and tokens",
        "  leading and trailing spaces  ",
        "L(N) = (N_c / N)^{0.076}, α_N ≈ 0.076",
        "Wie skaliert der Verlust mit der Modellgröße?",
        "缩放定律 与 计算 预算",
        "emoji 🚀 scaling 📈",
        "a" * 3000,
        "tab\tseparated\nnew line\r\ntext",
        "2203.15556",
        "arXiv:2001.08361 Scaling Laws for Neural Language Models",
    ]
    texts = list(fixed)
    while len(texts) < n:
        size = rng.choice([1, 3, 8, 20, 60, 150, 400, 900])
        words = [rng.choice(WORDS) for _ in range(size)]
        if rng.random() < 0.3:
            words.insert(rng.randrange(len(words) + 1), f"{rng.uniform(0, 1):.3f}")
        texts.append(" ".join(words) + rng.choice(["", ".", "?", " ;"]))
    return texts


@pytest.mark.slow
def test_lean_vectors_equal_sentence_transformers() -> None:
    folder = default_model_path()
    assert lean_layout(folder) == (256, "mean")
    texts = varied_texts()
    lean = LeanQueryEmbedder(folder)
    full = SentenceTransformerEmbedder(folder)
    tokens = lean._tokenizer(texts, truncation=False)["input_ids"]
    assert sum(len(t) > 256 for t in tokens) >= 30  # truncation is exercised
    assert (lean.name, lean.dim) == (full.name, full.dim) == (model_name(folder), 384)
    ours, theirs = lean.encode(texts), full.encode(texts)
    assert ours.shape == theirs.shape == (200, 384)
    assert ours.dtype == np.float32
    assert float(np.abs(ours - theirs).max()) < 1e-5
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    # One query on its own (the search's case, one thread) gives the same row as in a batch.
    for i in (2, 8, 40):
        assert float(np.abs(lean.encode([texts[i]])[0] - theirs[i]).max()) < 1e-5
    assert lean.encode([]).shape == (0, 384)


@pytest.mark.slow
def test_a_query_loads_no_sentence_transformers() -> None:
    code = (
        "import sys; from kb.embed import load_query_embedder; "
        "e = load_query_embedder(); v = e.encode(['power law in model size']); "
        "print(type(e).__name__, v.shape, 'sentence_transformers' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.split("\n")[0] == "LeanQueryEmbedder (1, 384) False"


def _folder(tmp_path: Path, modules: list[tuple[str, str]], *, bert: object = None,
            pooling: object = None, st_config: object = None) -> Path:  # fmt: skip
    """A model folder's config files (no weights): modules as (type suffix, path)."""
    root = tmp_path / "m"
    root.mkdir()
    entries = [
        {"idx": i, "name": str(i), "path": path, "type": f"sentence_transformers.models.{kind}"}
        for i, (kind, path) in enumerate(modules)
    ]
    (root / "modules.json").write_text(json.dumps(entries))
    (root / "config.json").write_text(json.dumps({"model_type": "bert"}))
    bert = {"max_seq_length": 128, "do_lower_case": False} if bert is None else bert
    (root / "sentence_bert_config.json").write_text(json.dumps(bert))
    if st_config is not None:
        (root / "config_sentence_transformers.json").write_text(json.dumps(st_config))
    for _, path in modules:
        if path:
            (root / path).mkdir(exist_ok=True)
            pool = {"pooling_mode_mean_tokens": True} if pooling is None else pooling
            (root / path / "config.json").write_text(json.dumps(pool))
    return root


PLAIN = [("Transformer", ""), ("Pooling", "1_Pooling"), ("Normalize", "2_Normalize")]


def test_plain_layouts_are_lean(tmp_path: Path) -> None:
    assert lean_layout(_folder(tmp_path, PLAIN)) == (128, "mean")


@pytest.mark.parametrize(
    ("pooling", "expected"),
    [
        ({"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}, "cls"),
        ({"pooling_mode": "mean", "include_prompt": True}, "mean"),
        ({"pooling_mode": ["cls"]}, "cls"),
        ({"pooling_mode_max_tokens": True}, None),
        ({"pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": True}, None),
        ({"pooling_mode": "lasttoken"}, None),
        ({}, None),
    ],
)
def test_poolings(tmp_path: Path, pooling: dict[str, object], expected: str | None) -> None:
    found = lean_layout(_folder(tmp_path, PLAIN[:2], pooling=pooling))
    assert (found[1] if found else None) == expected


@pytest.mark.parametrize(
    ("modules", "bert", "st_config"),
    [
        ([*PLAIN, ("Dense", "3_Dense")], None, None),  # a projection after pooling
        ([("Transformer", ""), ("Normalize", "2_Normalize")], None, None),  # no pooling
        ([("Transformer", "0_Transformer"), ("Pooling", "1_Pooling")], None, None),
        (PLAIN, {"max_seq_length": 128, "do_lower_case": True}, None),
        (PLAIN, {"max_seq_length": 128, "model_args": {"torch_dtype": "float16"}}, None),
        (PLAIN, {"do_lower_case": False}, None),  # no length to truncate at
        (PLAIN, None, {"prompts": {"query": "query: "}, "default_prompt_name": "query"}),
    ],
)
def test_other_layouts_fall_back(tmp_path: Path, modules: list[tuple[str, str]],
                                 bert: object, st_config: object) -> None:  # fmt: skip
    folder = _folder(tmp_path, modules, bert=bert, st_config=st_config)
    assert lean_layout(folder) is None
    with pytest.raises(BadInputError, match="SentenceTransformerEmbedder"):
        LeanQueryEmbedder(folder)


def test_custom_module_and_broken_files_fall_back(tmp_path: Path) -> None:
    folder = _folder(tmp_path, PLAIN)
    entries = json.loads((folder / "modules.json").read_text())
    entries[1]["type"] = "my_package.CustomPooling"
    (folder / "modules.json").write_text(json.dumps(entries))
    assert lean_layout(folder) is None
    (folder / "modules.json").write_text("[not json")
    assert lean_layout(folder) is None
    assert lean_layout(tmp_path / "missing") is None


def test_a_missing_folder_is_explained_by_the_query_loader(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="not a sentence-transformers model folder"):
        load_query_embedder(tmp_path / "gone")


@pytest.mark.slow
def test_a_query_runs_on_one_thread_and_restores_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both encoders share kb.embed._threads_for: one torch thread for a query's few texts,
    the caller's setting back afterwards, also when encoding raises."""
    import torch

    lean = LeanQueryEmbedder(default_model_path())
    seen: list[int] = []

    def fail(texts: list[str], torch_module: object) -> None:
        seen.append(torch.get_num_threads())
        raise RuntimeError("boom")

    monkeypatch.setattr(lean, "_encode_batch", fail)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with pytest.raises(RuntimeError, match="boom"):
            lean.encode(["power law"])
        assert seen == [1]
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize(
    ("config", "adapter", "lean"),
    [
        ({"model_type": "bert"}, False, True),
        ({"model_type": "xlm-roberta"}, False, True),
        ({"model_type": "bert"}, True, False),  # a PEFT adapter on the encoder
        ({"model_type": "t5", "architectures": ["T5EncoderModel"]}, False, False),
        ({"model_type": "qwen2"}, False, False),
        ({}, False, False),
    ],
)
def test_only_bert_like_encoders_are_lean(
    tmp_path: Path, config: dict[str, object], adapter: bool, lean: bool
) -> None:
    folder = _folder(tmp_path, PLAIN)
    (folder / "config.json").write_text(json.dumps(config))
    if adapter:
        (folder / "adapter_config.json").write_text("{}")
    assert (lean_layout(folder) is not None) is lean


@pytest.mark.slow
def test_an_encoder_decoder_folder_is_encoded_as_sentence_transformers_does(
    tmp_path: Path,
) -> None:
    """A plain Transformer + mean Pooling folder over T5 (sentence-transformers loads its
    encoder, T5EncoderModel): the lean encoder took it and every query failed in AutoModel's
    T5Model ('You must specify exactly one of input_ids or inputs_embeds')."""
    import shutil

    from transformers import T5Config, T5EncoderModel

    folder = tmp_path / "t5"
    shutil.copytree(default_model_path(), folder)
    (folder / "model.safetensors").unlink()
    (folder / "config.json").unlink()
    config = T5Config(vocab_size=30522, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4)
    T5EncoderModel(config).save_pretrained(folder)
    pooling = {"word_embedding_dimension": 32, "pooling_mode_mean_tokens": True}
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    assert lean_layout(folder) is None
    embedder = load_query_embedder(folder)
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert embedder.encode(["power law in model size"]).shape == (1, 32)


@pytest.mark.slow
def test_no_progress_bar_while_loading_and_the_setting_comes_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both encoders load under kb.embed._no_progress_bars (a 'Loading weights' bar on every
    `kb search` was noise on stderr); the caller's setting is restored, also on failure."""
    import transformers
    from transformers.utils import logging as hf_logging

    seen: list[bool] = []
    real = transformers.AutoModel.from_pretrained

    def load(*args: object, **kwargs: object) -> object:
        seen.append(hf_logging.is_progress_bar_enabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(transformers.AutoModel, "from_pretrained", load)
    hf_logging.enable_progress_bar()
    LeanQueryEmbedder(default_model_path())
    assert seen == [False]
    assert hf_logging.is_progress_bar_enabled()

    def fail(*args: object, **kwargs: object) -> object:
        raise OSError("no weights")

    monkeypatch.setattr(transformers.AutoModel, "from_pretrained", fail)
    with pytest.raises(OSError, match="no weights"):
        LeanQueryEmbedder(default_model_path())
    assert hf_logging.is_progress_bar_enabled()
