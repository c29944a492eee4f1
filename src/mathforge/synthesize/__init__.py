"""mathforge.synthesize"""
