"""Questions encoded on torch in bfloat16, for processes that answer many
(the chat page): one question at a time, its exact length, no padding.

Why a forward of our own: for one 15-word-piece question the model's matrix
products are well under half of onnxruntime's float32 time when they run in
bfloat16 on weights oneDNN has packed once, but Hugging Face's module calls,
its unused pooler and a weight reorder on every product cost more than they
save (benchmarks/RESULTS.md: 14.5 ms against 24.6 ms for all-mpnet-base-v2 on
2 threads, 23 ms for the library's own bf16 forward). It covers the two
encoder layouts rag ships, BERT (all-MiniLM-L6-v2) and MPNet
(all-mpnet-base-v2), and checks itself against the library's forward when it
loads; any other model keeps onnxruntime.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

PROBE = "Which questions does this model answer, and how quickly?"
AGREEMENT = 0.999  # least cosine to the library's own forward, pooled and per token
LAYOUTS = ("bert", "mpnet")
PREPARED = 64  # word pieces: questions up to this length never wait for a kernel to be made


def load_query_encoder(model_path: Path, dtype=None) -> "QueryEncoder | None":
    """The model at ``model_path`` as a QueryEncoder in ``dtype`` (bfloat16 by
    default), or None when its layout is not one this module knows or its
    outputs do not match the library's forward."""
    import torch
    import transformers
    from transformers import AutoModel

    transformers.logging.disable_progress_bar()
    transformers.logging.set_verbosity_error()
    dtype = dtype or torch.bfloat16
    model = AutoModel.from_pretrained(str(model_path), dtype=dtype, local_files_only=True).eval()
    config = model.config
    if config.model_type not in LAYOUTS or config.hidden_act != "gelu":
        return None
    if config.model_type == "bert" and getattr(config, "position_embedding_type", "absolute") != "absolute":
        return None
    encoder = QueryEncoder(model, dtype)
    return encoder if _agrees(encoder, model, model_path) else None


def _agrees(encoder: "QueryEncoder", model, model_path: Path) -> bool:
    import torch

    from rag.embed.model_folder import max_length
    from rag.embed.tokens import word_piece_ids, wordpiece_tokenizer

    ids = word_piece_ids(wordpiece_tokenizer(model_path, max_length(model_path)), [PROBE])[0]
    with torch.inference_mode():
        ours = torch.from_numpy(encoder.hidden(ids))
        theirs = model(input_ids=torch.from_numpy(ids.astype(np.int64))[None]).last_hidden_state[0].float()
    per_token = torch.nn.functional.cosine_similarity(ours, theirs, dim=1)
    pooled = torch.nn.functional.cosine_similarity(ours.mean(0), theirs.mean(0), dim=0)
    return bool(per_token.min() >= AGREEMENT and pooled >= AGREEMENT)


class _Linear:
    """``x @ W.T + b`` for one or more linear layers side by side (their
    outputs concatenated), on weights oneDNN packed once where torch offers
    that (bfloat16), else a plain product; GELU fused in when asked."""

    def __init__(self, linears, packed: bool):
        import torch

        weight = torch.cat([m.weight.detach() for m in linears])
        self.bias = torch.cat([m.bias.detach() for m in linears])
        # 16 rows: the length of a typical question, the shape the packing is tuned for.
        self.weight = torch.ops.mkldnn._reorder_linear_weight(weight, 16) if packed else weight
        self.packed = packed

    def __call__(self, x, gelu: bool = False):
        import torch

        if self.packed:
            return torch.ops.mkldnn._linear_pointwise(
                x, self.weight, self.bias, "gelu" if gelu else "none", [], "none" if gelu else ""
            )
        y = torch.nn.functional.linear(x, self.weight, self.bias)
        return torch.nn.functional.gelu(y) if gelu else y


def _packing_available(dtype) -> bool:
    import torch

    return (
        dtype == torch.bfloat16
        and hasattr(torch.ops.mkldnn, "_reorder_linear_weight")
        and torch.backends.mkldnn.is_available()
    )


class QueryEncoder:
    """A BERT or MPNet encoder's last hidden state for one text's word pieces."""

    def __init__(self, model, dtype):
        config = model.config
        packed = _packing_available(dtype)
        self.heads = config.num_attention_heads
        self.head_dim = config.hidden_size // self.heads
        self.mpnet = config.model_type == "mpnet"
        e = model.embeddings
        self.words = e.word_embeddings.weight.detach()
        self.positions = e.position_embeddings.weight.detach()
        self.embedding_norm = _norm(e.LayerNorm)
        if self.mpnet:
            # MPNet counts positions from after its padding id, and adds a
            # learned bias by relative position to every attention score.
            self.first_position = e.padding_idx + 1
            self.token_type = None
            self._bucket = model.encoder.relative_position_bucket
            self.relative_bias = model.encoder.relative_attention_bias.weight.detach()
        else:
            self.first_position = 0
            self.token_type = e.token_type_embeddings.weight.detach()[0]
        self.layers = []
        for layer in model.encoder.layer:
            if self.mpnet:
                a = layer.attention.attn
                q, k, v, o, norm = a.q, a.k, a.v, a.o, layer.attention.LayerNorm
            else:
                s = layer.attention.self
                out = layer.attention.output
                q, k, v, o, norm = s.query, s.key, s.value, out.dense, out.LayerNorm
            # Query, key and value in one product: one pass over the input, one call.
            linears = (
                _Linear((q, k, v), packed),
                *(_Linear((m,), packed) for m in (o, layer.intermediate.dense, layer.output.dense)),
            )
            self.layers.append((linears, _norm(norm), _norm(layer.output.LayerNorm)))
        self._biases: dict[int, object] = {}
        self.packed = packed

    def prepare(self, longest: int = PREPARED) -> None:
        """Run once at every length up to ``longest`` word pieces: oneDNN
        makes its kernels for each new number of rows, and the first
        question of a new length paid ~4 ms more for it (median of 50 lengths)."""
        for n in range(1, longest + 1):
            self.hidden(np.full(n, self.words.shape[0] // 2, dtype=np.int64))

    def _attention_bias(self, n: int):
        """MPNet's bias by relative position for a text of n word pieces, [1, heads, n, n]."""
        import torch

        if n not in self._biases:
            at = torch.arange(n)
            buckets = self._bucket(at[None, :] - at[:, None])
            self._biases[n] = self.relative_bias[buckets].permute(2, 0, 1)[None].contiguous()
        return self._biases[n]

    def hidden(self, ids: np.ndarray) -> np.ndarray:
        """Last hidden state, [len(ids), hidden] float32, of one text's word-piece ids."""
        import torch
        from torch.nn.functional import layer_norm, scaled_dot_product_attention

        n, heads, d = len(ids), self.heads, self.head_dim
        with torch.inference_mode():
            tokens = torch.from_numpy(np.asarray(ids, dtype=np.int64))
            h = self.words[tokens] + self.positions[torch.arange(n) + self.first_position]
            if self.token_type is not None:
                h = h + self.token_type
            h = layer_norm(h, *self.embedding_norm)
            bias = self._attention_bias(n) if self.mpnet else None
            for (qkv, o, up, down), norm1, norm2 in self.layers:
                # [3, 1, heads, n, d]: four dimensions each, as three send torch's
                # attention to its slower general path.
                split = qkv(h).view(n, 3, 1, heads, d).permute(1, 2, 3, 0, 4)
                context = scaled_dot_product_attention(split[0], split[1], split[2], attn_mask=bias)
                h = layer_norm(o(context.transpose(1, 2).reshape(n, heads * d)) + h, *norm1)
                h = layer_norm(down(up(h, gelu=True)) + h, *norm2)
            return h.float().numpy()


def _norm(module) -> tuple:
    return (module.weight.shape[0],), module.weight.detach(), module.bias.detach(), module.eps
