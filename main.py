from source_timify.run import run

if __name__ == "__main__":
    run()
