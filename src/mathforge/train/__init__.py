"""mathforge.train"""
