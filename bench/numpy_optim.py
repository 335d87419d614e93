"""Careful in-place NumPy optimizer steps: the fairest NumPy baseline (one
preallocated temporary, no per-step allocation beyond NumPy's own)."""
import math

import numpy as np


class NumpyAdam:
    def __init__(self, p, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.p, self.lr, (self.b1, self.b2), self.eps = p, lr, betas, eps
        self.m, self.v, self.tmp = np.zeros_like(p), np.zeros_like(p), np.empty_like(p)
        self.t = 0

    def step(self, g):
        self.t += 1
        b1, b2, m, v, tmp = self.b1, self.b2, self.m, self.v, self.tmp
        m *= b1
        np.multiply(g, 1 - b1, out=tmp)
        m += tmp
        v *= b2
        np.multiply(g, g, out=tmp)
        tmp *= 1 - b2
        v += tmp
        np.sqrt(v, out=tmp)
        tmp /= math.sqrt(1 - b2 ** self.t)
        tmp += self.eps
        np.divide(m, tmp, out=tmp)
        tmp *= self.lr / (1 - b1 ** self.t)
        self.p -= tmp


class NumpySGD:
    def __init__(self, p, lr=1e-3, momentum=0.9):
        self.p, self.lr, self.mu = p, lr, momentum
        self.buf, self.tmp = np.zeros_like(p), np.empty_like(p)

    def step(self, g):
        self.buf *= self.mu
        self.buf += g
        np.multiply(self.buf, self.lr, out=self.tmp)
        self.p -= self.tmp


class NumpyRMSprop:
    def __init__(self, p, lr=1e-2, alpha=0.99, eps=1e-8):
        self.p, self.lr, self.alpha, self.eps = p, lr, alpha, eps
        self.s, self.tmp = np.zeros_like(p), np.empty_like(p)

    def step(self, g):
        self.s *= self.alpha
        np.multiply(g, g, out=self.tmp)
        self.tmp *= 1 - self.alpha
        self.s += self.tmp
        np.sqrt(self.s, out=self.tmp)
        self.tmp += self.eps
        np.divide(g, self.tmp, out=self.tmp)
        self.tmp *= self.lr
        self.p -= self.tmp


class NumpyAdagrad:
    def __init__(self, p, lr=1e-2, eps=1e-10):
        self.p, self.lr, self.eps = p, lr, eps
        self.s, self.tmp = np.zeros_like(p), np.empty_like(p)

    def step(self, g):
        np.multiply(g, g, out=self.tmp)
        self.s += self.tmp
        np.sqrt(self.s, out=self.tmp)
        self.tmp += self.eps
        np.divide(g, self.tmp, out=self.tmp)
        self.tmp *= self.lr
        self.p -= self.tmp
