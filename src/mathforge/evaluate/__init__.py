"""mathforge.evaluate"""
