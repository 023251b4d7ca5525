"""The lecture's batch gradient descent on scikit-learn's bundled digits.

Run: python examples/lecture_batch_gd.py
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from deltaprop import Network, check_gradients, gradient_descent

digits = load_digits()
X = digits.data / 16.0  # pixel intensities 0..16 scaled to [0, 1]
X_train, X_test, y_train, y_test = train_test_split(
    X, digits.target, test_size=0.25, random_state=0, stratify=digits.target
)
Y_train = np.eye(10)[y_train]  # one-hot targets Y^OH

net = Network([64, 32, 10], activation="tanh", output="softmax", random_state=0)
report = check_gradients(net, X_train[:5], Y_train[:5], l2=1e-4)
print(f"gradient check on 5 samples: max relative error {report.max_rel_error:.1e}")

print(f"batch gradient descent on {len(X_train)} digits, network {net.sizes}")
for block in range(10):
    losses = gradient_descent(net, X_train, Y_train, lr=0.5, l2=1e-4, steps=50)
    accuracy = (net.predict(X_test).argmax(axis=1) == y_test).mean()
    print(f"step {50 * (block + 1):>4}: loss {losses[-1]:.4f}   test accuracy {accuracy:.3f}")
