"""Edge-list formulations of the N-body layers as the reference implementations compute them (EGNN's
models/gcl.py E_GCL_vel and GCL, SEGNO's SEGNO_GCL): per-edge concatenation [h_row, h_col, ...] with
row = i the receiving node, a segment sum / mean over row, the per-edge coordinate clamp at +-100.
Written independently here, over meshsim's parameters, to check the layers on identical weights."""
import torch
from torch.nn.functional import silu


def linear(layer, x):
    return x @ layer.weight.T + (0.0 if layer.bias is None else layer.bias)


def segment_sum(values, rows, n):
    return torch.zeros(n, values.shape[1], dtype=values.dtype).index_add_(0, rows, values)


def segment_mean(values, rows, n):
    count = torch.zeros(n, 1, dtype=values.dtype).index_add_(0, rows, torch.ones(len(rows), 1, dtype=values.dtype))
    return segment_sum(values, rows, n) / count.clamp(min=1)


def mlp2(mlp, x):
    """linear, SiLU, linear (an `MLP` with one hidden layer)."""
    return linear(mlp.linears[1], silu(linear(mlp.linears[0], x)))


def egnn_vel_layer(layer, h, x, rows, cols, vel, edge_attr, clamp=100.0):
    """E_GCL_vel: edge model, coordinate model (clamped, mean), velocity term, residual node model."""
    diff = x[rows] - x[cols]
    radial = (diff ** 2).sum(1, keepdim=True)
    edge_feat = silu(mlp2(layer.edge_mlp, torch.cat([h[rows], h[cols], radial, edge_attr], 1)))
    trans = diff * mlp2(layer.coord_mlp, edge_feat)
    if clamp is not None:
        trans = trans.clamp(-clamp, clamp)
    x = x + segment_mean(trans, rows, len(h))
    if vel is not None:
        x = x + mlp2(layer.vel_mlp, h) * vel
    h = h + mlp2(layer.node_mlp, torch.cat([h, segment_sum(edge_feat, rows, len(h))], 1))
    return h, x


def segno_forward(model, h0, x, rows, cols, vel, edge_attr, clamp=100.0):
    """SEGNO: one shared layer L times: v += agg / L, x += v / L, h updated from the same messages."""
    layer, steps = model.layer, model.num_steps
    h = linear(model.embedding, h0)
    for _ in range(steps):
        diff = x[rows] - x[cols]
        radial = (diff ** 2).sum(1, keepdim=True)
        edge_feat = silu(mlp2(layer.edge_mlp, torch.cat([h[rows], h[cols], radial, edge_attr], 1)))
        trans = diff * mlp2(layer.coord_mlp, edge_feat)
        if clamp is not None:
            trans = trans.clamp(-clamp, clamp)
        vel = vel + segment_mean(trans, rows, len(h)) / steps
        x = x + vel / steps
        h = h + mlp2(layer.node_mlp, torch.cat([h, segment_sum(edge_feat, rows, len(h))], 1))
    return x


def gnn_forward(model, nodes, rows, cols, edge_attr):
    """The EGNN paper's GNN: embedding, GCL layers (recurrent), decoder."""
    h = linear(model.embedding, nodes)
    for layer in model.layers:
        edge_feat = silu(mlp2(layer.edge_mlp, torch.cat([h[rows], h[cols], edge_attr], 1)))
        h = h + mlp2(layer.node_mlp, torch.cat([h, segment_sum(edge_feat, rows, len(h))], 1))
    return mlp2(model.decoder, h)
