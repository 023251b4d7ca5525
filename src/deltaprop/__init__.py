"""deltaprop: feedforward networks trained by gradient descent with explicit backpropagation."""

from deltaprop.activations import Activation, get_activation
from deltaprop.gradcheck import GradientReport, check_gradients
from deltaprop.losses import OutputLoss, get_output
from deltaprop.network import Cache, Grads, Network, Params
from deltaprop.train import DivergenceError, gradient_descent

__version__ = "0.1.0"

__all__ = [
    "Activation",
    "Cache",
    "DivergenceError",
    "GradientReport",
    "Grads",
    "Network",
    "OutputLoss",
    "Params",
    "__version__",
    "check_gradients",
    "get_activation",
    "get_output",
    "gradient_descent",
]
