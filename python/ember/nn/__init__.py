"""ember.nn: modules, parameters and functional ops. Layers live beside
module.py, one file per family, and are re-exported here."""

from . import functional
from .dropout import Dropout
from .linear import Flatten, Identity, Linear, Unflatten
from .module import Module
from .normalization import LayerNorm
from .parameter import Buffer, Parameter
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from .transformer import MultiheadAttention, TransformerEncoder, TransformerEncoderLayer

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "Buffer",
    "Dropout",
    "Flatten",
    "GRUCell",
    "Identity",
    "LSTMCell",
    "LayerNorm",
    "Linear",
    "Module",
    "MultiheadAttention",
    "Parameter",
    "RNNBase",
    "RNNCell",
    "RNNCellBase",
    "TransformerEncoder",
    "TransformerEncoderLayer",
    "Unflatten",
    "functional",
]
