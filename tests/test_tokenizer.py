"""oscgen's T5 tokenizer gives exactly transformers' T5Tokenizer ids (pieces, then </s>)."""

import json
import shutil

import pytest

from oscgen.musicgen import tiny
from oscgen.musicgen.tokenizer import T5Tokenizer
from oscgen.musicgen.weights import ModelNotFoundError

transformers = pytest.importorskip("transformers")
pytest.importorskip("google.protobuf")  # transformers reads a bare spiece.model through protobuf

PROMPTS = [
    "upbeat jazz piano solo",
    "80s synthwave, 120 bpm, gated reverb snare!",
    "lo-fi hip hop beat with vinyl crackle & mellow rhodes chords...",
    "punctuation: ;,.!?()[]{}\"'-_/\\|@#$%^*+=~`",
    "Ünïcödé ñ café naïve — “quotes” 日本語 音楽 🎹🥁",
    "ＦＵＬＬ　ｗｉｄｔｈ and e\u0301 combining",
    "",
    " ",
    "   \t\n  ",
    "x",
    "  leading and trailing spaces  ",
    "many     spaces\tand\ttabs\nand\nnewlines",
    "UPPER lower MiXeD",
    "\u200b zero width \u00a0 nbsp",
    "foo <extra_id_0> bar <extra_id_99>",
    "a</s>b <pad><unk>",
    "<extra_id_10><extra_id_1>0> <extra_id_100>",
    "drum and bass " * 40,
]


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return tiny.write_tiny_model(tmp_path_factory.mktemp("tok") / "model")


@pytest.fixture(scope="module")
def reference(tiny_dir):
    from transformers import T5Tokenizer as HFT5Tokenizer

    return HFT5Tokenizer.from_pretrained(str(tiny_dir))


@pytest.mark.parametrize("prompt", PROMPTS, ids=range(len(PROMPTS)))
def test_ids_equal_transformers(prompt, tiny_dir, reference):
    assert T5Tokenizer.from_dir(tiny_dir).encode(prompt) == reference(prompt).input_ids


def test_auto_tokenizer_agrees_too(tiny_dir):
    from transformers import AutoTokenizer

    auto = AutoTokenizer.from_pretrained(str(tiny_dir))
    ours = T5Tokenizer.from_dir(tiny_dir)
    for prompt in PROMPTS:
        assert ours.encode(prompt) == auto(prompt).input_ids, prompt


def test_ends_with_eos_and_knows_unknowns(tiny_dir):
    tok = T5Tokenizer.from_dir(tiny_dir)
    assert tok.encode("") == [1]
    assert tok.encode("jazz")[-1] == 1
    assert 2 in tok.encode("日本語")  # characters the model never saw are <unk>
    assert tok.decode(tok.encode("upbeat jazz piano")) == "upbeat jazz piano"


def test_extra_ids_sit_at_the_top_of_the_vocabulary(tiny_dir, reference):
    tok = T5Tokenizer.from_dir(tiny_dir)
    assert tok.vocab_size == len(reference)
    assert tok.encode("<extra_id_0>")[0] == tok.vocab_size - 1


def test_extra_ids_count_comes_from_tokenizer_config(tiny_dir, tmp_path):
    folder = shutil.copytree(tiny_dir, tmp_path / "m")
    (folder / "tokenizer_config.json").write_text(json.dumps({"extra_ids": 3}))
    tok = T5Tokenizer.from_dir(folder)
    assert tok.encode("<extra_id_2>")[0] == tok.sp.get_piece_size()
    assert tok.encode("<extra_id_3>") == tok.sp.encode("<extra_id_3>") + [1]


def test_missing_spiece_model_is_named(tmp_path):
    with pytest.raises(ModelNotFoundError, match="spiece.model"):
        T5Tokenizer.from_dir(tmp_path)


def test_non_text_is_a_type_error(tiny_dir):
    with pytest.raises(TypeError, match="str"):
        T5Tokenizer.from_dir(tiny_dir).encode(b"bytes")
