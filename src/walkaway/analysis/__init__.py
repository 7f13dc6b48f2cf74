"""What analysts explore in the notebooks: the history, the ICP, a reviewed pipeline, and their
plots."""
