"""mathforge.llm"""
