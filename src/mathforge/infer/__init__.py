"""mathforge.infer"""
