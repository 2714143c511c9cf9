"""Use cases: one function per operation, one transaction each.

This is the only layer that commits and takes the instance lock.
"""
