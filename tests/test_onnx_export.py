"""The int8 export of an encoder that takes no token types (MPNet, the larger support base)."""

from __future__ import annotations

import json

import numpy as np
import torch
from transformers import MPNetConfig, MPNetModel

from index.onnx_embedding import inference_session, mean_pooled, quantised_model


class Tokens:
    """What `mean_pooled` reads of a tokenised pair (the export traces ids of 1000: vocab 1024)."""

    def __init__(self, ids: list[int]):
        self.ids = ids
        self.type_ids = [0] * len(ids)


def test_an_encoder_without_token_types_is_exported_and_runs(tmp_path):
    torch.manual_seed(0)
    config = MPNetConfig(vocab_size=1024, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                         intermediate_size=64, max_position_embeddings=64)
    model = MPNetModel(config, add_pooling_layer=False).eval()
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "config.json").write_text(json.dumps(config.to_dict()), encoding="utf-8")

    path = quantised_model(tmp_path / "base", tmp_path / "cache", "tiny-mpnet", encoder=lambda: model)
    session = inference_session(path, threads=1)
    assert [i.name for i in session.get_inputs()] == ["input_ids", "attention_mask"]

    rows = [Tokens([0, 5, 9, 2, 2, 7, 2]), Tokens([0, 11, 2, 2, 3, 2])]
    pooled = mean_pooled(session, rows)
    with torch.no_grad():
        expected = [model(input_ids=torch.tensor([r.ids])).last_hidden_state[0].mean(0).numpy() for r in rows]
    assert pooled.shape == (2, 32)
    for got, want in zip(pooled, expected):  # int8 weights: close to the torch model, not equal
        assert np.corrcoef(got, want)[0, 1] > 0.95
