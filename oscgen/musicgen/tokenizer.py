"""The T5 tokenizer MusicGen's text encoder uses: sentencepiece pieces, then ``</s>``.

Reads the checkpoint's ``spiece.model`` with the sentencepiece library and gives the same ids as
transformers' ``T5Tokenizer``, including its special tokens: ``<pad>``, ``</s>``, ``<unk>`` and
``<extra_id_N>`` written in the text become their ids (T5 puts the extra ids at the top of the
vocabulary, ``<extra_id_0>`` last).
"""

from __future__ import annotations

import json
import re
from pathlib import Path


class T5Tokenizer:
    def __init__(self, spm_path, extra_ids: int = 100):
        import sentencepiece as spm

        self.spm_path = Path(spm_path)
        self.sp = spm.SentencePieceProcessor(model_file=str(self.spm_path))
        self.extra_ids = extra_ids
        self.eos_id = self.sp.eos_id() if self.sp.eos_id() >= 0 else 1
        self.pad_id = self.sp.pad_id() if self.sp.pad_id() >= 0 else 0
        specials = {"<pad>": self.pad_id, "</s>": self.eos_id, "<unk>": self.sp.unk_id()}
        size = self.sp.get_piece_size()
        specials.update({f"<extra_id_{n}>": size + extra_ids - 1 - n for n in range(extra_ids)})
        self._special_ids = specials
        # longest first, so "<extra_id_10>" is not read as "<extra_id_1>" + "0>"
        names = sorted(specials, key=len, reverse=True)
        self._special_pattern = re.compile("(" + "|".join(re.escape(n) for n in names) + ")")

    @classmethod
    def from_dir(cls, model_dir) -> "T5Tokenizer":
        """The tokenizer of a checkpoint folder (``spiece.model``, extra ids from tokenizer_config.json)."""
        model_dir = Path(model_dir)
        path = model_dir / "spiece.model"
        if not path.is_file():
            from oscgen.musicgen.weights import ModelNotFoundError

            raise ModelNotFoundError(f"checkpoint {model_dir} has no spiece.model (the T5 sentencepiece model)")
        extra_ids = 100
        config = model_dir / "tokenizer_config.json"
        if config.is_file():
            try:
                extra_ids = int(json.loads(config.read_text()).get("extra_ids", extra_ids))
            except (ValueError, TypeError, AttributeError):
                pass  # a malformed optional file: T5's default of 100 extra ids
        return cls(path, extra_ids=extra_ids)

    @property
    def vocab_size(self) -> int:
        return self.sp.get_piece_size() + self.extra_ids

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` followed by ``</s>`` (what T5Tokenizer(text).input_ids gives)."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        ids: list[int] = []
        for i, segment in enumerate(self._special_pattern.split(text)):
            if i % 2:  # the captured special-token names sit at the odd positions
                ids.append(self._special_ids[segment])
            elif segment:
                ids.extend(self.sp.encode(segment))
        ids.append(self.eos_id)
        return ids

    def decode(self, ids) -> str:
        """Text of ``ids`` without special tokens (for logs and debugging)."""
        size = self.sp.get_piece_size()
        return self.sp.decode([int(i) for i in ids if int(i) < size and int(i) not in (self.eos_id, self.pad_id)])
