"""meshsim.nn"""
from .mlp import MLP, inplace_relu
from .sorted_edges import TargetSortedEdges, add_gathered, aggregate, gather_source, gather_target
from .graph_net_block import GraphNetBlock
from .encode_process_decode import EncodeProcessDecode
from .normalizer import Normalizer
from .meshgraphnet import MeshGraphNet
from .egnn import EGNN, EGNNLayer
from .segno import SEGNO
from .equivariant_mesh import EquivariantMeshModel
from .testing import assert_equivariant
from .mp_pde import MPPDE, MPPDELayer
