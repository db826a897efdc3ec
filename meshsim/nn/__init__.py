"""meshsim.nn"""
from .mlp import MLP, inplace_relu
from .sorted_edges import TargetSortedEdges, add_gathered, aggregate, gather_source, gather_target
from .graph_net_block import GraphNetBlock
from .encode_process_decode import EncodeProcessDecode
from .normalizer import Normalizer
from .meshgraphnet import MeshGraphNet
from .egnn import EGNN, EGNNLayer
from .segno import SEGNO
from .gnn import GNN, GCLLayer
from .equivariant_mesh import EquivariantMeshModel
from .testing import assert_equivariant
from .mp_pde import MPPDE, MPPDELayer
from .particle_features import ParticleFeatures, ParticleStatistics
from .gns import GNS
from .neural_operator import FNO2d, GridToPoints, PointsToGrid, SpectralConv2d, grid_nodes, grid_pairs
from .dense_decoder import DenseDecoder
from .giorom import GIOROM
from .graph_transformer import GraphTransformerEncoder
from .um2n import UM2N, DeformGAT, LocalFeatureExtractor, project_to_boundary
from .dmm import DMM
from .factorized_linear import TTLinear, TuckerLinear
from .stnn import STNN, PODMLP, ParametricMLP, count_parameters, mlp_width_for, pod_basis
