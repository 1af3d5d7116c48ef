"""dlmath"""
