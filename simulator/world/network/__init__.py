"""The social network: NetworkX builders (:mod:`.graphs`), sparse arrays for large
populations (:mod:`.csr`) and network files (:mod:`.files`)."""

from .csr import build_csr, complete_csr
from .files import read_network_file
from .graphs import KINDS, build_graph, check_parameters, realised_mean_degree, to_csr

__all__ = [
    "KINDS", "build_csr", "build_graph", "check_parameters", "complete_csr",
    "read_network_file", "realised_mean_degree", "to_csr",
]  # fmt: skip
