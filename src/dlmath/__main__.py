def main(): print("demo")
if __name__ == "__main__": main()
