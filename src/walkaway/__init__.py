"""walkaway: predict how a B2B deal will end and say, in a seller's words, when to walk away."""

__version__ = "0.1.0"
