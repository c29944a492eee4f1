"""mathforge.augment"""
