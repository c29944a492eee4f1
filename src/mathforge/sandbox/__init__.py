"""mathforge.sandbox"""
