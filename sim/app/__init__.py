"""The interactive page (``feedsim app``) and the guided lessons (``feedsim lesson``)."""
