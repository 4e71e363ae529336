"""Standard datasets: MNIST, FashionMNIST, CIFAR10 and scikit-learn's Digits."""

from .cifar import CIFAR10
from .digits import Digits
from .mnist import MNIST, FashionMNIST, read_idx

__all__ = ["CIFAR10", "MNIST", "Digits", "FashionMNIST", "read_idx"]
